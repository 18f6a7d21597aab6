package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/lastmile/lastmile/internal/apperr"
)

// errorBody is the one error shape of every route, SIGNL4's
// {code, message, details, requestId}.
type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Details   string `json:"details,omitempty"`
	RequestID string `json:"requestId"`
}

// writeError answers with err mapped to its status. Internal errors are
// logged and shown only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	k := apperr.KindOf(err)
	body := errorBody{Code: string(k), RequestID: requestID(r.Context())}
	if e, ok := apperr.As(err); ok && k != apperr.Internal {
		body.Message, body.Details = e.Message, e.Details
	} else if k == apperr.NotFound {
		body.Message = "not found"
	} else {
		if errors.Is(err, context.Canceled) {
			s.log.Info("client went away", "request_id", body.RequestID, "err", err)
		} else {
			s.log.Error("request failed", "request_id", body.RequestID, "method", r.Method, "route", r.Pattern, "err", err)
		}
		body.Message = "internal error"
	}
	if k == apperr.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lastmile"`)
	}
	writeJSON(w, apperr.HTTPStatus(k), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Default().Debug("write response", "err", err)
	}
}

// maxJSONBody bounds the bodies of the REST API.
const maxJSONBody = 1 << 20

// decode reads a JSON request body into v, refusing unknown fields so that a
// misspelt field is an error rather than silently ignored.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return apperr.New(apperr.TooLarge, "request body is larger than %d bytes", maxJSONBody)
		case errors.Is(err, io.EOF):
			return apperr.New(apperr.Invalid, "request body is empty; send a JSON object")
		}
		return apperr.WithDetails(apperr.Invalid, "request body is not valid JSON for this route", err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.Invalid, "request body has data after the JSON object")
	}
	return nil
}

type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}
