package roster

import (
	"strings"

	// Registers google.rpc.BadRequest and ErrorInfo with the protobuf
	// registry, so status.Details() decodes them without the caller having
	// to import errdetails itself.
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	"github.com/roster-dev/roster/clients/go/rosterv1"
)

// ErrorDomain is ErrorInfo.domain of every Roster error.
const ErrorDomain = "roster.dev"

// reasonPrefix is the prefix of every rosterv1.ErrorReason value name; the
// server sends the name without it.
const reasonPrefix = "ERROR_REASON_"

// ErrorInfo returns the google.rpc.ErrorInfo detail of a failed call, or nil
// when err is nil, not a gRPC status, or carries none.
func ErrorInfo(err error) *errdetails.ErrorInfo {
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return nil
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// FieldViolations returns the google.rpc.BadRequest field violations of a
// failed call as field path -> description (empty when there are none).
func FieldViolations(err error) map[string]string {
	out := map[string]string{}
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return out
	}
	for _, d := range st.Details() {
		if bad, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range bad.GetFieldViolations() {
				out[v.GetField()] = v.GetDescription()
			}
		}
	}
	return out
}

// Reason returns the ErrorInfo reason of a failed call ("SEAT_LIMIT_REACHED"),
// or "" when it has none.
func Reason(err error) string { return ErrorInfo(err).GetReason() }

// ReasonString is the wire form of a reason code:
// ReasonString(rosterv1.ErrorReason_ERROR_REASON_SEAT_LIMIT_REACHED) is
// "SEAT_LIMIT_REACHED", the string the server puts into ErrorInfo.reason.
func ReasonString(r rosterv1.ErrorReason) string {
	return strings.TrimPrefix(r.String(), reasonPrefix)
}

// HasReason reports whether err carries a Roster ErrorInfo with reason r:
//
//	if roster.HasReason(err, rosterv1.ErrorReason_ERROR_REASON_SEAT_LIMIT_REACHED) { ... }
func HasReason(err error, r rosterv1.ErrorReason) bool {
	info := ErrorInfo(err)
	return info != nil && info.GetDomain() == ErrorDomain && info.GetReason() == ReasonString(r)
}

// ParseReason maps an ErrorInfo reason string to its enum value
// (ERROR_REASON_UNSPECIFIED for a reason this SDK does not know yet).
func ParseReason(reason string) rosterv1.ErrorReason {
	if reason == "" {
		return rosterv1.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	return rosterv1.ErrorReason(rosterv1.ErrorReason_value[reasonPrefix+reason])
}
