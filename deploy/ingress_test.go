package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// The ingress-nginx annotations the tests read.
const (
	annUseRegex     = "nginx.ingress.kubernetes.io/use-regex"
	annRewrite      = "nginx.ingress.kubernetes.io/rewrite-target"
	annRedirectFrom = "nginx.ingress.kubernetes.io/proxy-redirect-from"
	annRedirectTo   = "nginx.ingress.kubernetes.io/proxy-redirect-to"
	annBodySize     = "nginx.ingress.kubernetes.io/proxy-body-size"
	// nginxDefaultBodySize is ingress-nginx's proxy-body-size when an Ingress sets none.
	nginxDefaultBodySize = "1m"
)

// ingressRoute is one path of one Ingress, as ingress-nginx serves it.
type ingressRoute struct {
	ing     *networkingv1.Ingress
	host    string
	path    string
	regex   bool // the host's paths are regular expressions (use-regex on any of its Ingresses)
	prefix  bool // pathType Prefix
	service string
}

func ingressRoutes(objs []runtime.Object) []ingressRoute {
	var out []ingressRoute
	regexHosts := map[string]bool{}
	for _, o := range objs {
		ing, ok := o.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		for _, r := range ing.Spec.Rules {
			if ing.Annotations[annUseRegex] == "true" || ing.Annotations[annRewrite] != "" {
				regexHosts[r.Host] = true
			}
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				route := ingressRoute{ing: ing, host: r.Host, path: p.Path}
				if p.PathType != nil && *p.PathType == networkingv1.PathTypePrefix {
					route.prefix = true
				}
				if p.Backend.Service != nil {
					route.service = p.Backend.Service.Name
				}
				out = append(out, route)
			}
		}
	}
	for i := range out {
		out[i].regex = regexHosts[out[i].host]
	}
	return out
}

// route finds where ingress-nginx sends a request for u: the route, and the path the
// backend receives (after rewrite-target). Regular-expression locations are anchored
// at the start and case-insensitive, as ingress-nginx writes them (`location ~* "^..."`).
func route(t testing.TB, routes []ingressRoute, u *url.URL) (ingressRoute, string, bool) {
	t.Helper()
	var best ingressRoute
	bestLen := -1
	for _, r := range routes {
		if r.host != u.Hostname() {
			continue
		}
		matched := false
		if r.regex {
			matched = regexp.MustCompile("(?i)^" + r.path).MatchString(u.Path)
		} else {
			matched = u.Path == r.path || (r.prefix && strings.HasPrefix(u.Path, strings.TrimSuffix(r.path, "/")+"/"))
		}
		if matched && len(r.path) > bestLen {
			best, bestLen = r, len(r.path)
		}
	}
	if bestLen < 0 {
		return ingressRoute{}, "", false
	}
	upstream := u.Path
	if target := best.ing.Annotations[annRewrite]; target != "" {
		re := regexp.MustCompile("(?i)^" + best.path)
		m := re.FindStringSubmatchIndex(u.Path)
		upstream = string(re.ExpandString(nil, target, u.Path, m)) + u.Path[m[1]:]
	}
	return best, upstream, true
}

// redirect is nginx's proxy_redirect as the route's Ingress configures it: a Location
// that starts with the "from" text has it replaced by the "to" text.
func redirect(r ingressRoute, location string) string {
	from, to := r.ing.Annotations[annRedirectFrom], r.ing.Annotations[annRedirectTo]
	if from == "" || from == "off" || !strings.HasPrefix(location, from) {
		return location
	}
	return to + strings.TrimPrefix(location, from)
}

// apiPaths are the paths of a service's OpenAPI document, with each parameter filled.
func apiPaths(t testing.TB, svc string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "services", svc, "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s openapi.yaml: %v", svc, err)
	}
	var out []string
	for p := range doc.Paths {
		out = append(out, pathParam.ReplaceAllString(p, "0194f1e2-7c3a-7d4e-9f00-000000000001"))
	}
	slices.Sort(out)
	if len(out) == 0 {
		t.Fatalf("%s's OpenAPI document has no paths", svc)
	}
	return out
}

var pathParam = regexp.MustCompile(`\{[^{}/]+\}`)

// apiServices are the services behind the API host; the portal has a host of its own.
var apiServices = []string{"signatory", "review", "notify", "fund"}

// TestLocationsResolveBehindTheIngress: a service answers a create with a
// host-relative Location, a path of its own API (/v1/organisations/<id>,
// libs/httpserver Create). Behind the Ingress, which strips /<service> before the
// request reaches it, the Location a client receives, resolved against the URL it
// called, must lead back through the Ingress to the same service and path. Without
// rewriting it led to https://api.../v1/..., which no Ingress rule serves (404).
func TestLocationsResolveBehindTheIngress(t *testing.T) {
	for _, o := range overlays {
		routes := ingressRoutes(render(t, o))
		for _, svc := range apiServices {
			var host string
			for _, r := range routes {
				if r.service == svc {
					host = r.host
				}
			}
			if host == "" {
				t.Errorf("%s: no Ingress serves %s", o, svc)
				continue
			}
			for _, p := range apiPaths(t, svc) {
				called := &url.URL{Scheme: "https", Host: host, Path: "/" + svc + p}
				r, upstream, ok := route(t, routes, called)
				if !ok || r.service != svc || upstream != p {
					t.Errorf("%s: %s reaches %q of %q, want %s %s", o, called, upstream, r.service, svc, p)
					continue
				}
				loc, err := url.Parse(redirect(r, p))
				if err != nil {
					t.Fatal(err)
				}
				back := called.ResolveReference(loc)
				r2, upstream2, ok := route(t, routes, back)
				if !ok || r2.service != svc || upstream2 != p {
					t.Errorf("%s: %s answers Location %s; the client follows it to %s, which reaches %q of %q, not %s %s", o, called, redirect(r, p), back, upstream2, r2.service, svc, p)
					break // one path tells; the others fail alike
				}
			}
		}
	}
}

// TestIngressBodyLimitsAdmitWhatTheServicesAccept: every Ingress path lets through a
// request body as large as its backend accepts. The API Ingress capped every service at
// 256k while review takes submissions up to its 8M (HTTP_BODY_LIMIT), and the portal's
// Ingress left ingress-nginx's default 1m while its submission editor posts up to 1.5
// MiB: both were refused at the edge with nginx's HTML 413.
func TestIngressBodyLimitsAdmitWhatTheServicesAccept(t *testing.T) {
	portalLimit := portalFormLimit(t)
	for _, o := range overlays {
		objs := render(t, o)
		env := serviceEnv(t, objs, exampleSecretKeys(t))
		checked := map[string]bool{}
		for _, r := range ingressRoutes(objs) {
			var limit int64
			switch {
			case env[r.service]["HTTP_BODY_LIMIT"] != "":
				n, err := serviceSize(env[r.service]["HTTP_BODY_LIMIT"])
				if err != nil {
					t.Fatalf("%s: %s HTTP_BODY_LIMIT: %v", o, r.service, err)
				}
				limit = n
			case r.service == "portal":
				limit = portalLimit
			default:
				t.Errorf("%s: Ingress %s sends %s to %s, whose body limit this test does not know", o, r.ing.Name, r.path, r.service)
				continue
			}
			checked[r.service] = true
			size := r.ing.Annotations[annBodySize]
			if size == "" {
				size = nginxDefaultBodySize
			}
			edge, err := nginxSize(size)
			if err != nil {
				t.Fatalf("%s: Ingress %s proxy-body-size: %v", o, r.ing.Name, err)
			}
			if edge != 0 && edge < limit {
				t.Errorf("%s: Ingress %s caps %s%s at %s (%d bytes), below the %d bytes %s accepts", o, r.ing.Name, r.host, r.path, size, edge, limit, r.service)
			}
		}
		for _, svc := range append(slices.Clone(apiServices), "portal") {
			if !checked[svc] {
				t.Errorf("%s: no Ingress path leads to %s", o, svc)
			}
		}
	}
}

// serviceSize reads a size as libs/httpserver does (HTTP_BODY_LIMIT): 256K, 8M, bytes.
func serviceSize(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult, s = 1<<10, s[:len(s)-1]
	case "M":
		mult, s = 1<<20, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

// nginxSize reads a size as nginx does (client_max_body_size): 256k, 8m, 1g, bytes.
func nginxSize(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult, s = 1<<10, s[:len(s)-1]
	case "m":
		mult, s = 1<<20, s[:len(s)-1]
	case "g":
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

// portalFormLimit reads maxFormBytes, the portal's largest request body, from its
// source: it is unexported, so it is type-checked from the one file that declares it.
func portalFormLimit(t testing.TB) int64 {
	t.Helper()
	file := filepath.Join("..", "services", "portal", "internal", "pages", "routes.go")
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	// The file's imports are not needed to evaluate the constant: their errors are ignored.
	conf := types.Config{Error: func(error) {}}
	_, _ = conf.Check("pages", fset, []*ast.File{f}, info)
	for id, obj := range info.Defs {
		if c, ok := obj.(*types.Const); ok && id.Name == "maxFormBytes" {
			n, err := strconv.ParseInt(c.Val().ExactString(), 10, 64)
			if err != nil {
				t.Fatalf("%s: maxFormBytes = %s: %v", file, c.Val(), err)
			}
			return n
		}
	}
	t.Fatalf("%s declares no constant maxFormBytes: the portal Ingress's body size is checked against it", file)
	return 0
}

// TestEveryOverlayServesTheURLsItsConfigNames: every address an overlay gives the
// services and the portal for the suite itself is served by one of its Ingresses, and
// reaches the right backend: the portal's keys (AUTH_PORTAL_JWKS_URL), its address and
// sign-in callback, and notify's public API. dev named dev.technician-commitment... but
// had no Ingress, so no service could fetch the portal's keys and every signed-in page
// failed with 401.
func TestEveryOverlayServesTheURLsItsConfigNames(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		routes := ingressRoutes(objs)
		env := serviceEnv(t, objs, exampleSecretKeys(t))
		type want struct{ key, url, service string }
		var wants []want
		for _, svc := range apiServices {
			wants = append(wants,
				want{svc + " AUTH_PORTAL_JWKS_URL", env[svc]["AUTH_PORTAL_JWKS_URL"], "portal"},
				want{svc + " AUTH_PORTAL_ISSUER", env[svc]["AUTH_PORTAL_ISSUER"], "portal"})
		}
		wants = append(wants,
			want{"portal PORTAL_PUBLIC_URL", env["portal"]["PORTAL_PUBLIC_URL"], "portal"},
			want{"portal PORTAL_OIDC_REDIRECT_URL", env["portal"]["PORTAL_OIDC_REDIRECT_URL"], "portal"},
			want{"notify NOTIFY_PORTAL_URL", env["notify"]["NOTIFY_PORTAL_URL"], "portal"},
			want{"notify NOTIFY_PUBLIC_URL", strings.TrimSuffix(env["notify"]["NOTIFY_PUBLIC_URL"], "/") + "/v1/", "notify"})
		for _, w := range wants {
			u, err := url.Parse(w.url)
			if err != nil || u.Host == "" {
				t.Errorf("%s: %s is %q, not a URL", o, w.key, w.url)
				continue
			}
			if u.Path == "" {
				u.Path = "/"
			}
			r, _, ok := route(t, routes, u)
			if !ok || r.service != w.service {
				t.Errorf("%s: %s is %s, which no Ingress of the overlay sends to %s (got %q)", o, w.key, w.url, w.service, r.service)
			}
		}
	}
}
