// Package roster connects to a Roster server and hands out typed clients for
// its four services. The generated messages and clients live in the
// rosterv1 package (github.com/roster-dev/roster/clients/go/rosterv1).
//
//	c, err := roster.Dial("127.0.0.1:50051", os.Getenv("ROSTER_TOKEN"))
//	if err != nil { ... }
//	defer c.Close()
//	id, err := c.Identity.GetIdentity(ctx, &rosterv1.GetIdentityRequest{IdentityId: "AB12CD34"})
package roster

import (
	"context"
	"crypto/tls"
	_ "embed"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/roster-dev/roster/clients/go/rosterv1"
)

// Version of this SDK (the repository's VERSION file; checked by
// scripts/clients/version-check.sh).
const Version = "0.1.0"

// serviceConfig is clients/service_config.json: round_robin over every
// address the target resolves to, a 30s deadline for unary calls and retries
// on UNAVAILABLE for read-only RPCs and WatchEvents.
//
//go:embed service_config.json
var serviceConfig string

// Client holds one connection and the clients of the four services on it.
type Client struct {
	conn *grpc.ClientConn

	Identity   rosterv1.IdentityServiceClient
	License    rosterv1.LicenseServiceClient
	Membership rosterv1.MembershipServiceClient
	Events     rosterv1.EventServiceClient
}

type options struct {
	tls            *tls.Config
	defaultTimeout time.Duration
	dialOptions    []grpc.DialOption
}

// Option changes how Dial connects.
type Option func(*options)

// WithTLS connects over TLS instead of plaintext (the default, meant for
// loopback and in-cluster traffic).
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithDefaultTimeout sets the deadline given to unary calls whose context has
// none (default 30s; 0 leaves only the service config's per-method timeout).
func WithDefaultTimeout(d time.Duration) Option {
	return func(o *options) { o.defaultTimeout = d }
}

// WithDialOptions passes extra options to grpc.NewClient.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, opts...) }
}

// Dial creates a client for target ("host:port", or any gRPC target such as
// "dns:///roster.svc:50051"). token is sent as `authorization: Bearer
// <token>` on every call: a service key or a session token from SignIn.
// Leave it empty to call only SignIn. The connection is made lazily.
func Dial(target, token string, opts ...Option) (*Client, error) {
	o := options{defaultTimeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	transport := insecure.NewCredentials()
	if o.tls != nil {
		transport = credentials.NewTLS(o.tls)
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithDefaultServiceConfig(serviceConfig),
	}
	if token != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearer{token: token, requireTLS: o.tls != nil}))
	}
	if o.defaultTimeout > 0 {
		dialOpts = append(dialOpts, grpc.WithChainUnaryInterceptor(defaultDeadline(o.defaultTimeout)))
	}
	dialOpts = append(dialOpts, o.dialOptions...)
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, err
	}
	return &Client{
		conn:       conn,
		Identity:   rosterv1.NewIdentityServiceClient(conn),
		License:    rosterv1.NewLicenseServiceClient(conn),
		Membership: rosterv1.NewMembershipServiceClient(conn),
		Events:     rosterv1.NewEventServiceClient(conn),
	}, nil
}

// Conn returns the underlying connection (for health checks or other stubs).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// bearer sends the token as `authorization: Bearer <token>`.
type bearer struct {
	token      string
	requireTLS bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false for plaintext connections so the token
// also works on loopback and inside a cluster network; use WithTLS elsewhere.
func (b bearer) RequireTransportSecurity() bool { return b.requireTLS }

func defaultDeadline(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
