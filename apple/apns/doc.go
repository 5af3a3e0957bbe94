// Package apns sends MDM push notifications through the Apple Push
// Notification service: an HTTP/2 provider that implements apple.Pusher.
//
// It follows Apple's "Sending notification requests to APNs", "Handling
// notification responses from APNs" and "Establishing a token-based
// connection to APNs", and the MDM push described in Apple's Device
// Management documentation: a push only tells the device to check in; the
// commands travel over the MDM connection.
//
// # Flow
//
// For each apple.PushInfo the provider POSTs {"mdm":"<PushMagic>"} to
// /3/device/<hex device token> on api.push.apple.com, with apns-topic
// (the push certificate's UID, see TopicFromCertificate), apns-push-type
// "mdm", apns-priority (10 unless Options.Priority) and, when
// Options.Expiration is set, apns-expiration. APNs answers 200 with an
// apns-id, which becomes PushResult.ID, or an error status with a JSON
// reason, which becomes an *Error in PushResult.Err.
//
// Authentication is by the MDM push certificate as TLS client certificate
// (NewWithCertificate) or by an ES256 JWT signed with a developer-account
// key (NewWithToken). The JWT is shared by all pushes, refreshed every 50
// minutes (APNs refuses tokens older than an hour and changes more often
// than every 20 minutes), and replaced once when APNs rejects it as
// expired or invalid, the push then being retried once with the new token.
//
// # Errors
//
// Error.Retryable is true for throttling (429), APNs failures (5xx,
// Shutdown, IdleTimeout) and network failures; these are retried up to
// Options.MaxAttempts with exponential backoff and jitter. Everything else
// is permanent (Error.Permanent, IsPermanent) and not retried: a bad,
// unregistered or foreign device token (Error.DeviceTokenInvalid: stop
// pushing to the enrollment until its next TokenUpdate), a topic or
// certificate APNs refuses, or a malformed request. Nothing reaches the
// device on any error.
//
// # Certificate rotation
//
// SetCertificate swaps in a renewed push certificate while pushes run.
// It refuses a certificate for another topic (ErrTopicMismatch): devices
// enrolled with the old topic can only be reached through it, and a
// certificate made for another topic (a new certificate instead of a
// renewal) would silently cut them all off. NotAfter surfaces the current
// certificate's expiry.
//
// # Concurrency
//
// A Provider is safe for concurrent use. It keeps at most
// Options.Concurrency requests in flight across all Push calls, as
// streams multiplexed on reused HTTP/2 connections, and each Push call
// runs at most that many goroutines whatever the number of pushes.
//
// See Example for construction with a push certificate and a push.
package apns
