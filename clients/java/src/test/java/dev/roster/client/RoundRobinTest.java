package dev.roster.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.roster.v1.CreateIdentityRequest;
import dev.roster.v1.GetIdentityRequest;
import dev.roster.v1.Identity;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannelBuilder;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * round_robin by default: calls spread over every address a name resolves to. ROSTER_LB_A and
 * ROSTER_LB_B are two Roster servers with separate databases (scripts/clients-test.sh starts
 * them); an identity created on A alone is found by the calls A answers and NOT_FOUND on B.
 */
class RoundRobinTest {
  private static final int CALLS = 40;

  @Test
  void callsSpreadOverBothReplicas() throws Exception {
    String a = System.getenv("ROSTER_LB_A");
    String b = System.getenv("ROSTER_LB_B");
    String key = System.getenv("ROSTER_SMOKE_KEY");
    Assumptions.assumeTrue(a != null && b != null && key != null, "ROSTER_LB_A / ROSTER_LB_B not set");

    String id;
    try (RosterClients onlyA = RosterClients.connect(host(a), port(a), key)) {
      id = onlyA.identity().createIdentity(CreateIdentityRequest.newBuilder()
          .setIdentity(Identity.newBuilder().setDisplayName("LB probe")).build()).getIdentityId();
    }

    // One name, two addresses, as a headless Service's DNS answer would be.
    NameResolverRegistry.getDefaultRegistry().register(new StaticResolver(List.of(
        new EquivalentAddressGroup(new InetSocketAddress(host(a), port(a))),
        new EquivalentAddressGroup(new InetSocketAddress(host(b), port(b))))));
    int servedA = 0;
    int servedB = 0;
    try (RosterClients both = RosterClients.connect(
        ManagedChannelBuilder.forTarget("roster-lb:///replicas").usePlaintext(), key, RosterClients.DEFAULT_TIMEOUT)) {
      for (int i = 0; i < CALLS; i++) {
        try {
          both.identity().getIdentity(GetIdentityRequest.newBuilder().setIdentityId(id).build());
          servedA++;
        } catch (StatusRuntimeException e) {
          assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.toString());
          servedB++;
        }
      }
    }
    System.out.println("ok   round_robin over 2 replicas, " + CALLS + " calls: A=" + servedA + " B=" + servedB);
    assertTrue(servedA >= CALLS / 4 && servedB >= CALLS / 4, "A=" + servedA + " B=" + servedB);
  }

  private static String host(String target) {
    return target.substring(0, target.lastIndexOf(':'));
  }

  private static int port(String target) {
    return Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
  }

  /** Resolves roster-lb:///anything to a fixed address list. */
  private static final class StaticResolver extends NameResolverProvider {
    private final List<EquivalentAddressGroup> addresses;

    StaticResolver(List<EquivalentAddressGroup> addresses) {
      this.addresses = addresses;
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 4; // below DNS (5), which stays the default scheme
    }

    @Override
    public String getDefaultScheme() {
      return "roster-lb";
    }

    @Override
    public NameResolver newNameResolver(URI uri, NameResolver.Args args) {
      if (!"roster-lb".equals(uri.getScheme())) {
        return null;
      }
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          return "replicas";
        }

        @Override
        public void start(Listener2 listener) {
          listener.onResult(ResolutionResult.newBuilder().setAddresses(addresses).build());
        }

        @Override
        public void shutdown() {}
      };
    }
  }
}
