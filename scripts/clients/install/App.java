package example;

import dev.roster.client.RosterClients;
import dev.roster.client.RosterErrors;
import dev.roster.v1.CreateIdentityRequest;
import dev.roster.v1.ErrorReason;
import dev.roster.v1.GetIdentityRequest;
import dev.roster.v1.Identity;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;

/** A separate Maven project that depends on dev.roster:roster-client from the local repository. */
public final class App {
  public static void main(String[] args) throws Exception {
    String target = System.getenv("ROSTER_SMOKE_TARGET");
    int colon = target.lastIndexOf(':');
    try (RosterClients roster = RosterClients.connect(
        target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)), System.getenv("ROSTER_SMOKE_KEY"))) {
      Identity created = roster.identity().createIdentity(CreateIdentityRequest.newBuilder()
          .setIdentity(Identity.newBuilder().setDisplayName("Installed Java")).build());
      Identity got = roster.identityFuture()
          .getIdentity(GetIdentityRequest.newBuilder().setIdentityId(created.getIdentityId()).build())
          .get(30, TimeUnit.SECONDS);
      if (!got.getDisplayName().equals("Installed Java")) {
        throw new AssertionError("GetIdentity: " + got);
      }
      try {
        roster.identity().getIdentity(GetIdentityRequest.newBuilder().setIdentityId("bad").build());
        throw new AssertionError("GetIdentity(bad) succeeded");
      } catch (StatusRuntimeException e) {
        if (!RosterErrors.hasReason(e, ErrorReason.ERROR_REASON_INVALID_ARGUMENT)) {
          throw new AssertionError("GetIdentity(bad): reason " + RosterErrors.reason(e), e);
        }
      }
      System.out.println("ok   java dev.roster:roster-client: identity " + created.getIdentityId());
    }
  }
}
