// Quickstart: create an identity with a service key and read it back.
//
//	ROSTER_KEY=rsk_... go run ./examples/quickstart [127.0.0.1:50051]
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"google.golang.org/grpc/status"

	roster "github.com/roster-dev/roster/clients/go"
	"github.com/roster-dev/roster/clients/go/rosterv1"
)

func main() {
	target := "127.0.0.1:50051"
	if len(os.Args) > 1 {
		target = os.Args[1]
	}
	c, err := roster.Dial(target, os.Getenv("ROSTER_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	created, err := c.Identity.CreateIdentity(ctx, &rosterv1.CreateIdentityRequest{
		Identity: &rosterv1.Identity{DisplayName: "Ada Lovelace"},
	})
	if err != nil {
		log.Fatalf("CreateIdentity: %v", err)
	}
	got, err := c.Identity.GetIdentity(ctx, &rosterv1.GetIdentityRequest{IdentityId: created.GetIdentityId()})
	if err != nil {
		log.Fatalf("GetIdentity: %v", err)
	}
	fmt.Printf("identity %s %q %s\n", got.GetIdentityId(), got.GetDisplayName(), got.GetState())

	// Errors carry google.rpc details: which field was wrong, and why.
	_, err = c.Identity.GetIdentity(ctx, &rosterv1.GetIdentityRequest{IdentityId: "bad"})
	for field, description := range roster.FieldViolations(err) {
		fmt.Printf("%s: %s: %s (reason %s)\n", status.Code(err), field, description, roster.Reason(err))
	}
}
