package httpserver

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// redocJS is Redoc's standalone bundle (MIT, see apidocs/LICENSE.redoc), vendored so
// that the reference renders offline, in tests and behind a strict policy: the page
// loads nothing from anywhere but this service.
//
//go:embed apidocs/redoc.standalone.js
var redocJS []byte

// docsPolicy lets Redoc run from this origin alone. It styles itself with inline
// style elements and runs its search in a worker it builds from a blob, so those two
// are allowed; no inline script, nothing from another origin.
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} API reference</title>
</head>
<body>
<redoc spec-url="/openapi.yaml"></redoc>
<script type="module" src="/docs/redoc.standalone.js"></script>
</body>
</html>
`))

// registerDocs serves the readable API reference at /docs, rendered in the browser from
// the service's own /openapi.yaml.
func registerDocs(e *echo.Echo, service string) error {
	var page strings.Builder
	title := strings.ToUpper(service[:1]) + service[1:]
	if err := docsPage.Execute(&page, struct{ Title string }{title}); err != nil {
		return fmt.Errorf("render the API reference page: %w", err)
	}
	html := []byte(page.String())
	e.GET("/docs", func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", docsPolicy)
		return c.Blob(http.StatusOK, "text/html; charset=utf-8", html)
	})
	e.GET("/docs/redoc.standalone.js", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", redocJS)
	})
	return nil
}
