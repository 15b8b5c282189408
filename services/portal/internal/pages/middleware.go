package pages

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/services/portal/internal/signin"
)

// contentSecurityPolicy allows the portal's own stylesheet and nothing else: no
// script at all (every journey works without one), no framing, forms posting only
// back to the portal.
const contentSecurityPolicy = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'; img-src 'self'; style-src 'self'"

// headers sets the security headers of every answer.
func headers(hstsMaxAge int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// A sign-in link's secret is in its path: no page sends its address onwards.
		h.Set("Referrer-Policy", "no-referrer")
		if hstsMaxAge > 0 {
			h.Set("Strict-Transport-Security", fmt.Sprintf("max-age=%d; includeSubDomains", hstsMaxAge))
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status written, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status  int
	pattern string // the route matched, set by routed
}

// formRead reads a posted form whole before any handler sees it, so that handlers
// read r.PostForm as it is. A form that cannot be read (over maxFormBytes, or
// malformed) is refused here: read lazily, by r.FormValue, the error was dropped and
// every field read as empty, and the editor saved that empty draft over the lead's
// work, saying it was saved.
//
// Every form of the portal is sent as application/x-www-form-urlencoded (none asks
// for another enctype), and a body of any other media type is refused (415):
// r.ParseForm reads no other, and gives an empty form without an error for
// multipart/form-data, JSON or none, which the editor saved in the same way.
func (h *Handler) formRead(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if !urlencoded(r.Header.Get("Content-Type")) && !emptyWithoutType(r) {
				h.say(w, r, http.StatusUnsupportedMediaType, "The form could not be read",
					"Nothing was saved or changed: the portal reads only forms sent as a web page sends them (application/x-www-form-urlencoded). Go back, and send the form from its page.")
				return
			}
			if err := r.ParseForm(); err != nil {
				if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
					h.say(w, r, http.StatusRequestEntityTooLarge, "What you sent is too long",
						"Nothing was saved or changed. Go back: your browser should still hold what you typed. Shorten the longest text, or save it in parts, and send it again.")
					return
				}
				h.say(w, r, http.StatusBadRequest, "There is a problem", "The form could not be read, so nothing was saved or changed. Go back and try again.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// emptyWithoutType is a POST with no body and no media type: a button pressed with
// nothing to send, as `curl -X POST` presses the sign-in link's (the README's
// walkthrough does). There is nothing in it to misread, and a form that edits
// something still needs its version, so it changes nothing it should not.
func emptyWithoutType(r *http.Request) bool {
	return r.Header.Get("Content-Type") == "" && r.ContentLength == 0
}

// urlencoded says a request's Content-Type is a form as a web page sends it.
func urlencoded(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/x-www-form-urlencoded"
}

// routed remembers the route the mux matched for the access log, which sees the
// request before the mux (and before the copies other middleware make of it).
func routed(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if sw, ok := w.(*statusWriter); ok {
			sw.pattern = r.Pattern
		}
	})
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// httpMetrics are the portal's requests as the services count theirs
// (http_requests_total and http_request_duration_seconds, by method, route and
// status), so that the error-rate alert and the dashboard see the portal too.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "HTTP requests by method, route and status."},
			[]string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: prometheus.DefBuckets}, []string{"method", "route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register the portal's HTTP metrics: %w", err)
		}
	}
	return m, nil
}

// accessLog logs each request by its route pattern, never its path or query: a
// sign-in link's secret is in the path, and a search may be a person's name. It
// counts it in metrics (when given) by the same pattern.
func accessLog(logger *slog.Logger, metrics *httpMetrics, next http.Handler) http.Handler {
	tracer := otel.GetTracerProvider().Tracer("github.com/itss/techcommit/services/portal/internal/pages")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		// Each page is a server span, named by its route once matched (never its path),
		// whose trace the page's calls to the services carry on (clients' transport),
		// and whose trace_id every line logged for the page bears.
		// A trace begun before the portal (an ingress that traces) is continued.
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		r = r.WithContext(ctx)
		defer func() {
			if sw.pattern != "" {
				span.SetName(sw.pattern)
				span.SetAttributes(attribute.String("http.route", sw.pattern))
			}
			span.SetAttributes(attribute.Int("http.response.status_code", cmp.Or(sw.status, http.StatusOK)))
			if sw.status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, http.StatusText(sw.status))
			}
			span.End()
		}()
		defer func() {
			if v := recover(); v != nil {
				logger.ErrorContext(r.Context(), "page panicked", "route", sw.pattern, "panic", fmt.Sprint(v))
				if sw.status == 0 {
					http.Error(sw, "Sorry, something went wrong.", http.StatusInternalServerError)
				}
			}
			logger.InfoContext(r.Context(), "request", "method", r.Method, "route", sw.pattern, "status", sw.status,
				"duration_ms", time.Since(start).Milliseconds())
			if metrics != nil {
				route := sw.pattern
				if route == "" {
					route = "unmatched"
				}
				status := sw.status
				if status == 0 {
					status = http.StatusOK
				}
				metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
				metrics.duration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// deadline bounds a request's work: a service that hangs does not hold a page, or
// the person waiting for it, for longer than HTTP_REQUEST_TIMEOUT.
func deadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// noStore keeps a page out of every cache: pages show a person's own records.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// visitor is who is asking: nobody, a person in the records, or ops staff.
type visitor struct {
	session signin.Session
	person  signin.Person
	secret  string
}

type visitorKey struct{}

func visitorFrom(ctx context.Context) (*visitor, bool) {
	v, ok := ctx.Value(visitorKey{}).(*visitor)
	return v, ok
}

// session puts the signed-in visitor, if any, in the request's context. Who they
// are is looked up afresh in the records on every request, so that a lead their
// organisation replaced, or a reviewer removed from the pool, loses access at once.
func (h *Handler) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(h.cookieName())
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, ok, err := h.sessions.Get(r.Context(), c.Value)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !ok {
			h.clearCookie(w)
			next.ServeHTTP(w, r)
			return
		}
		v := &visitor{session: sess, secret: c.Value}
		if !sess.Ops {
			if v.person, err = h.people.Lookup(r.Context(), sess.Email); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), visitorKey{}, v)))
	})
}

// cookieName is __Host- prefixed when the cookie is Secure, so that the browser
// accepts it only from this host over https, for every path.
func (h *Handler) cookieName() string {
	if h.secureCookies {
		return "__Host-tc_session"
	}
	return "tc_session"
}

// setCookie keeps the session's secret as long as the session could last: its end
// moves with each use, and the portal, not the browser, says when it has come.
func (h *Handler) setCookie(w http.ResponseWriter, secret string) {
	http.SetCookie(w, h.cookie(h.cookieName(), secret, int(h.sessions.MaxLifetime().Seconds())))
}

func (h *Handler) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, h.cookie(h.cookieName(), "", -1))
}

// cookie is every cookie the portal sets: for the whole site, out of scripts'
// reach, sent on top-level navigation from elsewhere (a link in an email) but not on
// another site's posts, and only over https outside local development.
func (h *Handler) cookie(name, value string, maxAge int) *http.Cookie {
	// #nosec G124 -- Secure is false only with PORTAL_INSECURE_COOKIES, which a local stack on plain http sets (a Secure cookie is never sent back over http)
	return &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: h.secureCookies, SameSite: http.SameSiteLaxMode, MaxAge: maxAge}
}
