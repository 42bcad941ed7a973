package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// Stable problem codes. The one list is the ProblemCode enum of
// api/openapi.yaml, generated as oapi.ProblemCode; problem() takes only that
// type, and TestProblemCodesAreDocumented checks every code has a title.
// Each has its own `type` URI.
const (
	CodeValidationFailed     = oapi.ValidationFailed
	CodeUnauthorized         = oapi.Unauthorized
	CodeForbidden            = oapi.Forbidden
	CodeNotFound             = oapi.NotFound
	CodeConflict             = oapi.Conflict
	CodePartnershipNotActive = oapi.PartnershipNotActive
	CodeRelationshipExists   = oapi.RelationshipExists
	CodeTokenExpired         = oapi.TokenExpired
	CodeTokenUsed            = oapi.TokenUsed
	CodeMethodNotAllowed     = oapi.MethodNotAllowed
	CodePayloadTooLarge      = oapi.PayloadTooLarge
	CodeUnsupportedMediaType = oapi.UnsupportedMediaType
	CodeUnavailable          = oapi.Unavailable
	CodeInternal             = oapi.InternalError
	CodeRateLimited          = oapi.RateLimited
	CodeResendLimit          = oapi.ResendLimit
	CodeDuplicateRow         = oapi.DuplicateRow
	CodeHeldByAnotherJob     = oapi.HeldByAnotherJob
)

// Rule codes (rules package) are problem codes too.
const (
	CodeNotDirectBillPartner             = rules.NotDirectBillPartner
	CodeEnrollmentNotApproved            = rules.EnrollmentNotApproved
	CodeCustomerNotDirectBill            = rules.CustomerNotDirectBill
	CodeBillToSharingNotAcknowledged     = rules.BillToSharingNotAcknowledged
	CodeContactEmailNotCustomers         = rules.ContactEmailNotCustomers
	CodeDelegatedAdminRequiresInvitation = rules.DelegatedAdminRequiresInvitation
	CodeConsentEvidenceInvalid           = rules.ConsentEvidenceInvalid
)

// ProblemTypeBase prefixes every problem type; /rules/{code} explains each.
const ProblemTypeBase = "/rules/"

// FieldError names one bad field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem response; handlers return it as an error.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Code     string       `json:"code"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
	// Links point to what to do instead (e.g. the invitation route).
	Links map[string]string `json:"links,omitempty"`
	// retryAfter, in seconds, is sent as the Retry-After header of a 429.
	retryAfter int
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

func problem(status int, code oapi.ProblemCode, detail string) *Problem {
	return &Problem{Type: ProblemTypeBase + string(code), Title: titles[code], Status: status, Detail: detail, Code: string(code)}
}

var titles = map[oapi.ProblemCode]string{
	CodeValidationFailed:                 "The request is not valid",
	CodeUnauthorized:                     "Authentication is required",
	CodeForbidden:                        "This action is not allowed for you",
	CodeNotFound:                         "Not found",
	CodeConflict:                         "The request conflicts with the current state",
	CodePartnershipNotActive:             "No active partnership with this provider",
	CodeRelationshipExists:               "The reseller relationship already exists",
	CodeTokenExpired:                     "This link has expired",
	CodeTokenUsed:                        "This link was already used",
	CodeMethodNotAllowed:                 "Method not allowed",
	CodePayloadTooLarge:                  "The request body is too large",
	CodeUnsupportedMediaType:             "The request body must be JSON",
	CodeUnavailable:                      "A dependency is unavailable",
	CodeInternal:                         "Internal error",
	CodeRateLimited:                      "Too many requests",
	CodeResendLimit:                      "The invitation was resent too often",
	CodeNotDirectBillPartner:             "Only a direct-bill partner can do this",
	CodeEnrollmentNotApproved:            "The indirect-reseller enrollment is not approved",
	CodeCustomerNotDirectBill:            "The customer is not your direct-bill customer",
	CodeBillToSharingNotAcknowledged:     "Bill-to sharing must be acknowledged",
	CodeDelegatedAdminRequiresInvitation: "Delegated admin needs an invitation",
	CodeConsentEvidenceInvalid:           "The consent evidence is not acceptable",
	CodeDuplicateRow:                     "The same customer is on an earlier row of the job",
	CodeHeldByAnotherJob:                 "Another bulk job still holds this customer",
	CodeContactEmailNotCustomers:         "The contact address is not the customer's",
}

// RuleDescriptions explain each code on /rules/{code}.
var RuleDescriptions = map[oapi.ProblemCode]string{
	CodeValidationFailed:                 "A field is missing or malformed. The `errors` list names each field and what is wrong with it. Fix them and send the request again.",
	CodeUnauthorized:                     "Send `Authorization: Bearer <api key>` with the key shown once when the partner was created (or the operator token for /v1/admin).",
	CodeForbidden:                        "Your partner type cannot do this: invitations are sent by resellers, partnership invitations by indirect providers.",
	CodeNotFound:                         "There is no such object among yours. Objects of other partners are reported as not found too.",
	CodeConflict:                         "The object is not in a state that allows this, or an Idempotency-Key was reused with a different request.",
	CodePartnershipNotActive:             "A reseller can involve a provider only once their partnership is active: the provider invites (POST /v1/partnerships), the reseller accepts.",
	CodeRelationshipExists:               "The customer already has an active reseller relationship with this reseller and provider; nothing needs to be done.",
	CodeTokenExpired:                     "The personal link's process expired. Ask the partner to send a new invitation.",
	CodeTokenUsed:                        "The personal link was already used (accepted, declined or cancelled). Nothing else is needed.",
	CodePayloadTooLarge:                  "Request bodies are limited to 64 KiB.",
	CodeRateLimited:                      "Requests are limited per API key and per client address, and customer-link answers per client address. Wait the seconds the Retry-After header gives, then retry.",
	CodeResendLimit:                      "An invitation can be resent at most 5 times in 24 hours, so that a customer is not flooded. Wait, or cancel it and invite again later.",
	CodeUnsupportedMediaType:             "The /v1 routes take JSON: send the body with `Content-Type: application/json` (a body without a Content-Type is read as JSON too).",
	CodeNotDirectBillPartner:             "R1: only a direct-bill partner that became an indirect reseller extends relationships of its direct-bill customers. Use an invitation instead.",
	CodeEnrollmentNotApproved:            "R1: the reseller's indirect-reseller enrollment must be approved (POST /v1/enrollment, then an operator approves).",
	CodeCustomerNotDirectBill:            "R2: only customers acquired as your direct-bill customers can be extended. Invite other customers (POST /v1/invitations).",
	CodeBillToSharingNotAcknowledged:     "R4: acknowledge that a copy of the customer's bill-to information is shared with the provider (share_bill_to: true).",
	CodeDelegatedAdminRequiresInvitation: "R5: an extension grants no delegated admin rights. If the provider needs them, send an invitation with a delegated admin request (POST /v1/invitations).",
	CodeConsentEvidenceInvalid:           "R6: partner attestation needs a signer name and e-mail, obtained_at not in the future nor older than 90 days, and evidence text — and is accepted only where the installation allows it. Otherwise use customer_confirmation.",
	CodeDuplicateRow:                     "A bulk job names each customer once: this row repeats an earlier row's customer (or, for a new customer, its e-mail address). Remove the repeat and check the file again.",
	CodeHeldByAnotherJob:                 "A row of another bulk job still waits to start this customer. Wait for that job (GET /v1/bulk-jobs/{id}) or cancel it, then run this row again.",
	CodeContactEmailNotCustomers:         "Whoever holds the contact address accepts the relationship and consents for the customer, so it must be the customer's: not on your or the provider's e-mail domain, and for a registered customer on its domain (or a subdomain). If the customer really uses such an address, state why in contact_email_reason: the reason is recorded with the invitation or customer, and on its timeline.",
}

func validationProblem(errs []FieldError) *Problem {
	p := problem(http.StatusUnprocessableEntity, CodeValidationFailed, describeFields(errs))
	p.Errors = errs
	return p
}

func describeFields(errs []FieldError) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		parts = append(parts, e.Field+": "+e.Message)
	}
	return strings.Join(parts, "; ")
}

// notJSONProblem refuses a body that is not JSON.
func notJSONProblem() *Problem {
	return problem(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "send the body as JSON with Content-Type: application/json")
}

func notFoundProblem(what string) *Problem {
	return problem(http.StatusNotFound, CodeNotFound, "no "+what+" with this id among yours")
}

// toProblem is the one place where errors become HTTP answers.
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return problem(he.Code, CodeNotFound, "no such route")
		case http.StatusMethodNotAllowed:
			return problem(he.Code, CodeMethodNotAllowed, "this route does not accept this method")
		case http.StatusRequestEntityTooLarge:
			return problem(he.Code, CodePayloadTooLarge, "request bodies are limited to 64 KiB")
		case http.StatusUnsupportedMediaType:
			return notJSONProblem()
		case http.StatusUnauthorized:
			return problem(he.Code, CodeUnauthorized, fmt.Sprint(he.Message))
		}
		if he.Code >= 400 && he.Code < 500 {
			return problem(he.Code, CodeValidationFailed, fmt.Sprint(he.Message))
		}
	}
	var field *rules.InvalidField
	if errors.As(err, &field) {
		return validationProblem([]FieldError{{Field: field.Field, Message: field.Message}})
	}
	if v, ok := rules.AsViolation(err); ok {
		status := http.StatusUnprocessableEntity
		if v.Code == rules.CustomerNotFound {
			status = http.StatusNotFound
		}
		p := problem(status, v.Code, v.Detail)
		if v.Code == rules.DelegatedAdminRequiresInvitation {
			p.Links = map[string]string{"invitation": "/v1/invitations"}
		}
		return p
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return problem(http.StatusNotFound, CodeNotFound, "not found")
	case errors.Is(err, store.ErrIdempotencyKeyReused):
		return problem(http.StatusConflict, CodeConflict, "this Idempotency-Key was already used for a different request; use a new key")
	case errors.Is(err, store.ErrConflict):
		return problem(http.StatusConflict, CodeConflict, "the object already exists")
	}
	var pending startPendingError
	if errors.As(err, &pending) {
		return problem(http.StatusServiceUnavailable, CodeUnavailable, "the workflow service did not answer; the onboarding is recorded "+
			"and starts on its own within minutes: retry with the same Idempotency-Key to get it")
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return problem(http.StatusConflict, CodeConflict, "this onboarding is already running")
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		switch app.Type() {
		case workflows.ErrTypeAlreadyDecided:
			return problem(http.StatusConflict, CodeConflict, app.Message())
		case workflows.ErrTypeExpired:
			return problem(http.StatusConflict, CodeConflict, app.Message())
		case workflows.ErrTypeResendLimit:
			p := problem(http.StatusTooManyRequests, CodeResendLimit, app.Message())
			if app.HasDetails() {
				_ = app.Details(&p.retryAfter)
			}
			return p
		}
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return problem(http.StatusConflict, CodeConflict, "this onboarding has already ended")
	}
	var unavailable *serviceerror.Unavailable
	if errors.As(err, &unavailable) {
		return problem(http.StatusServiceUnavailable, CodeUnavailable, "the workflow service is unavailable; try again shortly")
	}
	if store.IsUnavailable(err) {
		return problem(http.StatusServiceUnavailable, CodeUnavailable, "the database is unavailable; try again shortly")
	}
	return problem(http.StatusInternalServerError, CodeInternal, "something went wrong on our side; it was logged")
}

// errorHandler renders every error as application/problem+json.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := toProblem(err)
		if p.Status >= 500 {
			logger.ErrorContext(c.Request().Context(), "Request failed", "error", err, "path", c.Path(),
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		}
		if p.Instance == "" {
			p.Instance = c.Request().URL.Path
		}
		if p.retryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(p.retryAfter))
		}
		c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
		c.Response().WriteHeader(p.Status)
		if c.Request().Method == http.MethodHead {
			return
		}
		if werr := jsonEncode(c.Response(), p); werr != nil {
			logger.Warn("Could not write the problem response", "error", werr)
		}
	}
}
