package dev.roster.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.Status;
import dev.roster.v1.ErrorReason;
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

  /** ErrorInfo.domain of every Roster error. */
  public static final String DOMAIN = "roster.dev";

  private static final String REASON_PREFIX = "ERROR_REASON_";

  /** The ErrorInfo reason string ("SEAT_LIMIT_REACHED"), or "" when the error carries none. */
  public static String reason(Throwable t) {
    return errorInfo(t).map(ErrorInfo::getReason).orElse("");
  }

  /**
   * The wire form of a reason code from the proto enum {@code roster.v1.ErrorReason}:
   * {@code reasonString(ErrorReason.ERROR_REASON_SEAT_LIMIT_REACHED)} is "SEAT_LIMIT_REACHED".
   */
  public static String reasonString(ErrorReason reason) {
    return reason.name().substring(REASON_PREFIX.length());
  }

  /** The enum value of a reason string; ERROR_REASON_UNSPECIFIED for one this SDK does not know. */
  public static ErrorReason parseReason(String reason) {
    try {
      ErrorReason r = ErrorReason.valueOf(REASON_PREFIX + reason);
      return r == ErrorReason.UNRECOGNIZED ? ErrorReason.ERROR_REASON_UNSPECIFIED : r;
    } catch (IllegalArgumentException e) {
      return ErrorReason.ERROR_REASON_UNSPECIFIED;
    }
  }

  /** Whether the error carries a Roster ErrorInfo with this reason. */
  public static boolean hasReason(Throwable t, ErrorReason reason) {
    return errorInfo(t)
        .filter(i -> DOMAIN.equals(i.getDomain()) && reasonString(reason).equals(i.getReason()))
        .isPresent();
  }

  private static <T extends com.google.protobuf.Message> T unpack(Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("malformed " + type.getSimpleName() + " detail", e);
    }
  }
}
