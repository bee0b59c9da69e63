package dev.roster.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.Status;
import io.grpc.protobuf.StatusProto;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** Reads the google.rpc details (grpc-status-details-bin) of a failed Roster call. */
public final class RosterErrors {
  private RosterErrors() {}

  /** The full google.rpc.Status of a StatusRuntimeException/StatusException, if it carries one. */
  public static Optional<Status> status(Throwable t) {
    return Optional.ofNullable(StatusProto.fromThrowable(t));
  }

  /** BadRequest field violations: field path to description (empty when none). */
  public static Map<String, String> fieldViolations(Throwable t) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Any any : status(t).map(Status::getDetailsList).orElse(java.util.List.of())) {
      if (any.is(BadRequest.class)) {
        for (BadRequest.FieldViolation v : unpack(any, BadRequest.class).getFieldViolationsList()) {
          out.put(v.getField(), v.getDescription());
        }
      }
    }
    return out;
  }

  /** The ErrorInfo detail (domain "roster.dev", reason such as SEAT_LIMIT_REACHED), if any. */
  public static Optional<ErrorInfo> errorInfo(Throwable t) {
    return status(t).flatMap(s -> s.getDetailsList().stream()
        .filter(a -> a.is(ErrorInfo.class))
        .findFirst()
        .map(a -> unpack(a, ErrorInfo.class)));
  }

  private static <T extends com.google.protobuf.Message> T unpack(Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("malformed " + type.getSimpleName() + " detail", e);
    }
  }
}
