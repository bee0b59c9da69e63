// A program that depends on github.com/roster-dev/roster/clients/go through
// a replace directive. It imports no errdetails: the SDK registers them.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	roster "github.com/roster-dev/roster/clients/go"
	"github.com/roster-dev/roster/clients/go/rosterv1"
)

func main() {
	if roster.Version != os.Getenv("ROSTER_SDK_VERSION") {
		log.Fatalf("roster.Version %q, VERSION %q", roster.Version, os.Getenv("ROSTER_SDK_VERSION"))
	}
	c, err := roster.Dial(os.Getenv("ROSTER_SMOKE_TARGET"), os.Getenv("ROSTER_SMOKE_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	created, err := c.Identity.CreateIdentity(ctx, &rosterv1.CreateIdentityRequest{
		Identity: &rosterv1.Identity{DisplayName: "Installed Go"},
	})
	if err != nil {
		log.Fatalf("CreateIdentity: %v", err)
	}
	if _, err := c.Identity.GetIdentity(ctx, &rosterv1.GetIdentityRequest{IdentityId: created.GetIdentityId()}); err != nil {
		log.Fatalf("GetIdentity: %v", err)
	}
	_, err = c.Identity.GetIdentity(ctx, &rosterv1.GetIdentityRequest{IdentityId: "bad"})
	if !roster.HasReason(err, rosterv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT) {
		log.Fatalf("GetIdentity(bad): want reason INVALID_ARGUMENT, got %q (%v)", roster.Reason(err), err)
	}
	if _, ok := roster.FieldViolations(err)["identity_id"]; !ok {
		log.Fatalf("GetIdentity(bad): no violation for identity_id: %v", roster.FieldViolations(err))
	}
	fmt.Printf("ok   go roster %s: identity %s\n", roster.Version, created.GetIdentityId())
}
