package roster_test

// round_robin by default: calls spread over every address a name resolves
// to. ROSTER_LB_A and ROSTER_LB_B are two Roster servers with separate
// databases (scripts/clients-test.sh starts them); an identity created on A
// alone is found by the calls A answers and NOT_FOUND on B.

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	roster "github.com/roster-dev/roster/clients/go"
	"github.com/roster-dev/roster/clients/go/rosterv1"
)

func TestRoundRobinSpreadsCalls(t *testing.T) {
	a, b, key := os.Getenv("ROSTER_LB_A"), os.Getenv("ROSTER_LB_B"), os.Getenv("ROSTER_SMOKE_KEY")
	if a == "" || b == "" || key == "" {
		t.Skip("ROSTER_LB_A / ROSTER_LB_B / ROSTER_SMOKE_KEY not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	onlyA, err := roster.Dial(a, key)
	if err != nil {
		t.Fatal(err)
	}
	defer onlyA.Close()
	ident, err := onlyA.Identity.CreateIdentity(ctx, &rosterv1.CreateIdentityRequest{
		Identity: &rosterv1.Identity{DisplayName: "LB probe"},
	})
	if err != nil {
		t.Fatalf("CreateIdentity on A: %v", err)
	}

	// One name, two addresses, as a headless Service's DNS answer would be;
	// Dial's default service config (round_robin + retries) is left alone.
	r := manual.NewBuilderWithScheme("roster-lb")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: a}, {Addr: b}}})
	both, err := roster.Dial("roster-lb:///replicas", key, roster.WithDialOptions(grpc.WithResolvers(r)))
	if err != nil {
		t.Fatal(err)
	}
	defer both.Close()

	const calls = 40
	served := map[string]int{}
	for i := 0; i < calls; i++ {
		_, err := both.Identity.GetIdentity(ctx, &rosterv1.GetIdentityRequest{IdentityId: ident.GetIdentityId()})
		switch status.Code(err) {
		case codes.OK:
			served["A"]++
		case codes.NotFound:
			served["B"]++
		default:
			t.Fatalf("GetIdentity: %v", err)
		}
	}
	t.Logf("ok   round_robin over 2 replicas, %d calls: %v", calls, served)
	if served["A"] < calls/4 || served["B"] < calls/4 {
		t.Fatalf("calls not spread over both replicas: %v", served)
	}
}
