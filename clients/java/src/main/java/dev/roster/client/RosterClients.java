package dev.roster.client;

import com.google.gson.Gson;
import dev.roster.v1.EventServiceGrpc;
import dev.roster.v1.IdentityServiceGrpc;
import dev.roster.v1.LicenseServiceGrpc;
import dev.roster.v1.MembershipServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.TlsChannelCredentials;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One channel to a Roster server and stubs for its four services (blocking, future and async),
 * with the bearer token, the shared service config (round_robin over every resolved address;
 * read-only RPCs and WatchEvents retried on UNAVAILABLE) and a default deadline for unary calls.
 *
 * <pre>{@code
 * try (RosterClients roster = RosterClients.connect("127.0.0.1", 50051, System.getenv("ROSTER_KEY"))) {
 *   Identity id = roster.identity().getIdentity(
 *       GetIdentityRequest.newBuilder().setIdentityId("AB12CD34").build());
 * }
 * }</pre>
 */
public final class RosterClients implements AutoCloseable {
  /** Deadline for unary calls made without one. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  private final ManagedChannel channel;
  private final BearerToken credentials;

  private RosterClients(ManagedChannel channel, String token) {
    this.channel = channel;
    this.credentials = token == null || token.isEmpty() ? null : new BearerToken(token);
  }

  /**
   * Connects in plaintext (loopback, in-cluster traffic). {@code token}: a service key or a
   * session token from SignIn; null or empty to call only SignIn.
   */
  public static RosterClients connect(String host, int port, String token) {
    return connect(ManagedChannelBuilder.forAddress(host, port).usePlaintext(), token, DEFAULT_TIMEOUT);
  }

  /**
   * Connects over TLS. {@code caPem}: the CA bundle to trust (null: the JVM's default trust
   * store); {@code certPem} and {@code keyPem} (PKCS#8 PEM): the client certificate chain and key
   * for mutual TLS, or both null. {@code target}: "host:port" or a name-resolver target such as
   * "dns:///roster-headless:50051".
   */
  public static RosterClients connectTls(String target, String token, File caPem, File certPem, File keyPem)
      throws IOException {
    TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
    if (caPem != null) {
      tls.trustManager(caPem);
    }
    if (certPem != null || keyPem != null) {
      tls.keyManager(certPem, keyPem);
    }
    ChannelCredentials creds = tls.build();
    return connect(Grpc.newChannelBuilder(target, creds), token, DEFAULT_TIMEOUT);
  }

  /**
   * Connects with a caller-configured builder (TLS, a name-resolver target, ...); adds the
   * service config, retries and the default deadline ({@code null}: none).
   */
  public static RosterClients connect(ManagedChannelBuilder<?> builder, String token, Duration defaultTimeout) {
    builder.defaultServiceConfig(serviceConfig()).enableRetry();
    if (defaultTimeout != null) {
      builder.intercept(new DefaultDeadline(defaultTimeout));
    }
    return new RosterClients(builder.build(), token);
  }

  public IdentityServiceGrpc.IdentityServiceBlockingStub identity() {
    return IdentityServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials);
  }

  public LicenseServiceGrpc.LicenseServiceBlockingStub license() {
    return LicenseServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials);
  }

  public MembershipServiceGrpc.MembershipServiceBlockingStub membership() {
    return MembershipServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials);
  }

  public EventServiceGrpc.EventServiceBlockingStub events() {
    return EventServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials);
  }

  /** Future stub: unary calls return a ListenableFuture. */
  public IdentityServiceGrpc.IdentityServiceFutureStub identityFuture() {
    return IdentityServiceGrpc.newFutureStub(channel).withCallCredentials(credentials);
  }

  /** Future stub: unary calls return a ListenableFuture. */
  public LicenseServiceGrpc.LicenseServiceFutureStub licenseFuture() {
    return LicenseServiceGrpc.newFutureStub(channel).withCallCredentials(credentials);
  }

  /** Future stub: unary calls return a ListenableFuture. */
  public MembershipServiceGrpc.MembershipServiceFutureStub membershipFuture() {
    return MembershipServiceGrpc.newFutureStub(channel).withCallCredentials(credentials);
  }

  /** Future stub: unary calls return a ListenableFuture (WatchEvents: use {@link #eventsAsync()}). */
  public EventServiceGrpc.EventServiceFutureStub eventsFuture() {
    return EventServiceGrpc.newFutureStub(channel).withCallCredentials(credentials);
  }

  /** Asynchronous stub: every call takes a StreamObserver. */
  public IdentityServiceGrpc.IdentityServiceStub identityAsync() {
    return IdentityServiceGrpc.newStub(channel).withCallCredentials(credentials);
  }

  /** Asynchronous stub: every call takes a StreamObserver. */
  public LicenseServiceGrpc.LicenseServiceStub licenseAsync() {
    return LicenseServiceGrpc.newStub(channel).withCallCredentials(credentials);
  }

  /** Asynchronous stub: every call takes a StreamObserver. */
  public MembershipServiceGrpc.MembershipServiceStub membershipAsync() {
    return MembershipServiceGrpc.newStub(channel).withCallCredentials(credentials);
  }

  /** Asynchronous event stub, for WatchEvents with a StreamObserver. */
  public EventServiceGrpc.EventServiceStub eventsAsync() {
    return EventServiceGrpc.newStub(channel).withCallCredentials(credentials);
  }

  /** The channel, for other stubs (health). */
  public ManagedChannel channel() {
    return channel;
  }

  /** The token's call credentials (null without a token), for stubs made on {@link #channel()}. */
  public BearerToken credentials() {
    return credentials;
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdown();
    if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
      channel.shutdownNow();
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> serviceConfig() {
    try (InputStream in = RosterClients.class.getResourceAsStream("service_config.json")) {
      if (in == null) {
        throw new IllegalStateException("service_config.json missing from the classpath");
      }
      try (Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
        // Gson reads JSON numbers as Double, as defaultServiceConfig expects.
        return new Gson().fromJson(reader, Map.class);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Applies a deadline to unary calls that have none; streams are left open-ended. */
  private static final class DefaultDeadline implements ClientInterceptor {
    private final Duration timeout;

    DefaultDeadline(Duration timeout) {
      this.timeout = timeout;
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
        MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
      if (method.getType() == MethodDescriptor.MethodType.UNARY && options.getDeadline() == null) {
        options = options.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
      }
      return next.newCall(method, options);
    }
  }
}
