package dev.roster.client.examples;

import dev.roster.client.RosterClients;
import dev.roster.client.RosterErrors;
import dev.roster.v1.CreateIdentityRequest;
import dev.roster.v1.GetIdentityRequest;
import dev.roster.v1.Identity;
import io.grpc.StatusRuntimeException;

/**
 * Quickstart: create an identity with a service key and read it back.
 *
 * <pre>ROSTER_KEY=rsk_... mvn -q test-compile exec:java [-Dexec.args="127.0.0.1 50051"]</pre>
 */
public final class Quickstart {
  public static void main(String[] args) throws Exception {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 50051;
    try (RosterClients roster = RosterClients.connect(host, port, System.getenv("ROSTER_KEY"))) {
      Identity created = roster.identity().createIdentity(CreateIdentityRequest.newBuilder()
          .setIdentity(Identity.newBuilder().setDisplayName("Ada Lovelace"))
          .build());
      Identity got = roster.identity().getIdentity(
          GetIdentityRequest.newBuilder().setIdentityId(created.getIdentityId()).build());
      System.out.printf("identity %s \"%s\" %s%n", got.getIdentityId(), got.getDisplayName(), got.getState());

      // Errors carry google.rpc details: which field was wrong, and why.
      try {
        roster.identity().getIdentity(GetIdentityRequest.newBuilder().setIdentityId("bad").build());
      } catch (StatusRuntimeException e) {
        RosterErrors.fieldViolations(e).forEach((field, why) ->
            System.out.printf("%s: %s: %s%n", e.getStatus().getCode(), field, why));
      }
    }
  }
}
