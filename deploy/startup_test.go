package deploy

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// startAfterPatience is how long a starting service may take past streamPatience: the
// stream attempt under way when the patience runs out (5 s) and the back-off before it
// (2 s), then MongoDB (5 s to select a server) and reading its views and aggregates.
const startAfterPatience = 30 * time.Second

// TestServicesMayOutwaitNATSAtStart: a starting service waits up to streamPatience
// (libs/platform) for NATS to take its streams, so that a NATS restart or leader
// election does not crash-loop every service that starts meanwhile. Its startup probe
// must allow that wait and the rest of starting, or the kubelet kills the pod first
// (it allowed 30 s while the service waited 60). The value is read from the source, so
// a change to either side that breaks the relation fails here.
func TestServicesMayOutwaitNATSAtStart(t *testing.T) {
	need := streamPatience(t) + startAfterPatience
	for _, o := range overlays {
		found := 0
		for _, obj := range render(t, o) {
			d, ok := obj.(*appsv1.Deployment)
			if !ok || d.Spec.Template.Labels["tc.itss.org.uk/role"] != "service" {
				continue
			}
			found++
			c := d.Spec.Template.Spec.Containers[0]
			p := c.StartupProbe
			if p == nil {
				t.Errorf("%s: %s has no startup probe; its liveness probe would kill it while it waits for NATS", o, d.Name)
				continue
			}
			// The kubelet kills the container after failureThreshold failures in a row,
			// probing every periodSeconds from initialDelaySeconds on.
			allowed := time.Duration(p.InitialDelaySeconds+p.PeriodSeconds*p.FailureThreshold) * time.Second
			if allowed < need {
				t.Errorf("%s: %s's startup probe allows %v (%ds + %d × %ds); starting may take %v (streamPatience %v, then %v more)",
					o, d.Name, allowed, p.InitialDelaySeconds, p.FailureThreshold, p.PeriodSeconds, need, streamPatience(t), startAfterPatience)
			}
		}
		if found < len(configKeys) {
			t.Errorf("%s: %d service Deployments, want %d", o, found, len(configKeys))
		}
	}
}

// streamPatience reads the constant of that name from libs/platform. It is unexported
// there, and the deploy module builds no service code into its tests, so it is read
// from the source: a constant expression of integers and time's units.
func streamPatience(t testing.TB) time.Duration {
	t.Helper()
	file := filepath.Join("..", "libs", "platform", "platform.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name != "streamPatience" || i >= len(vs.Values) {
					continue
				}
				v, err := durationConstant(vs.Values[i])
				if err != nil {
					t.Fatalf("%s: streamPatience: %v", file, err)
				}
				return v
			}
		}
	}
	t.Fatalf("%s declares no constant streamPatience: the startup probes' allowance is checked against it", file)
	return 0
}

// timeUnits are the time package's duration constants.
var timeUnits = map[string]time.Duration{
	"Nanosecond": time.Nanosecond, "Microsecond": time.Microsecond, "Millisecond": time.Millisecond,
	"Second": time.Second, "Minute": time.Minute, "Hour": time.Hour,
}

// durationConstant evaluates a constant expression such as time.Minute,
// 90 * time.Second or time.Duration(2) * time.Minute.
func durationConstant(e ast.Expr) (time.Duration, error) {
	var eval func(ast.Expr) (constant.Value, error)
	eval = func(e ast.Expr) (constant.Value, error) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind == token.INT || e.Kind == token.FLOAT {
				return constant.MakeFromLiteral(e.Value, e.Kind, 0), nil
			}
		case *ast.ParenExpr:
			return eval(e.X)
		case *ast.SelectorExpr:
			if pkg, ok := e.X.(*ast.Ident); ok && pkg.Name == "time" {
				if u, ok := timeUnits[e.Sel.Name]; ok {
					return constant.MakeInt64(int64(u)), nil
				}
			}
		case *ast.CallExpr: // a conversion: time.Duration(x)
			if sel, ok := e.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Duration" && len(e.Args) == 1 {
				return eval(e.Args[0])
			}
		case *ast.BinaryExpr:
			x, err := eval(e.X)
			if err != nil {
				return nil, err
			}
			y, err := eval(e.Y)
			if err != nil {
				return nil, err
			}
			switch e.Op {
			case token.ADD, token.SUB, token.MUL:
				return constant.BinaryOp(x, e.Op, y), nil
			case token.QUO: // integer division, as Go does for integer constants
				return constant.BinaryOp(x, token.QUO_ASSIGN, y), nil
			}
		}
		return nil, &unsupportedExpr{e}
	}
	v, err := eval(e)
	if err != nil {
		return 0, err
	}
	n, exact := constant.Int64Val(constant.ToInt(v))
	if !exact {
		return 0, &unsupportedExpr{e}
	}
	return time.Duration(n), nil
}

type unsupportedExpr struct{ e ast.Expr }

func (u *unsupportedExpr) Error() string {
	return "cannot evaluate " + types.ExprString(u.e) + " here; teach durationConstant or export the value"
}
