package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// runbookCommands returns the shell commands of deploy/README.md's code blocks, with
// continuation lines joined and comments dropped.
func runbookCommands(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return shCommands(string(data))
}

// shCommands returns the shell commands of text's sh code blocks, as runbookCommands.
func shCommands(text string) []string {
	var cmds []string
	in := false
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			in = trimmed == "```sh"
			continue
		}
		if !in || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		s := strings.Join(strings.Fields(trailingComment.ReplaceAllString(cur.String(), "")), " ")
		if s != "" {
			cmds = append(cmds, s)
		}
		cur.Reset()
	}
	return cmds
}

var (
	kubectlRef      = regexp.MustCompile(`\b(deploy|deployment|statefulset|sts|cronjob|svc|service|secret|configmap|mongodbcommunity|certificate|prometheusrule)/([a-z0-9-]+)`)
	trailingComment = regexp.MustCompile(`\s+#\s.*$`)
	applyK          = regexp.MustCompile(`kubectl (?:apply -k|create -k|kustomize) (\S+)`)
	execInto        = regexp.MustCompile(`kubectl .*exec (?:-i |-it )?(\S+)(?: -c (\S+))? -- sh -c '([^']*)'`)
	shellVar        = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	shellAssign     = regexp.MustCompile(`(?:^|[\s;(])([A-Za-z_][A-Za-z0-9_]*)=`)
	kindAliases     = map[string]string{"deploy": "Deployment", "deployment": "Deployment", "statefulset": "StatefulSet", "sts": "StatefulSet", "cronjob": "CronJob", "svc": "Service", "service": "Service", "secret": "Secret", "configmap": "ConfigMap", "mongodbcommunity": "MongoDBCommunity", "certificate": "Certificate", "prometheusrule": "PrometheusRule"}
	shellBuiltin    = map[string]bool{"HOME": true, "PATH": true, "PWD": true}
)

// objectNames lists the rendered objects as "Kind/name" (generated names without hash).
func objectNames(t testing.TB, objs []runtime.Object) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, o := range objs {
		kind := o.GetObjectKind().GroupVersionKind().Kind
		if kind == "" {
			gvks, _, err := scheme.Scheme.ObjectKinds(o)
			if err != nil {
				t.Fatal(err)
			}
			kind = gvks[0].Kind
		}
		acc, err := apimeta.Accessor(o)
		if err != nil {
			t.Fatal(err)
		}
		out[kind+"/"+hashSuffix.ReplaceAllString(acc.GetName(), "")] = true
	}
	return out
}

// TestRunbookCommandsNameWhatTheManifestsCreate: every `kubectl apply -k` in the runbook
// builds, and every object a command names (deploy/x, cronjob/y, secret/z ...) is one
// the prod overlay creates, one the runbook tells the operator to create, or the Secret
// cert-manager writes for one of prod's Certificates.
func TestRunbookCommandsNameWhatTheManifestsCreate(t *testing.T) {
	objs := render(t, "prod")
	names := objectNames(t, objs)
	for s := range exampleSecretKeys(t) {
		names["Secret/"+s] = true
	}
	for _, c := range customObjects(objs, "Certificate") {
		if s, _, _ := unstructured.NestedString(c.Object, "spec", "secretName"); s != "" {
			names["Secret/"+s] = true
		}
	}
	cmds := runbookCommands(t)
	if len(cmds) < 10 {
		t.Fatalf("the runbook has only %d commands", len(cmds))
	}
	for _, c := range cmds {
		if m := applyK.FindStringSubmatch(c); m != nil {
			dir := strings.TrimPrefix(m[1], "deploy/")
			if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err != nil {
				t.Errorf("runbook: %q applies %s, which has no kustomization.yaml", c, m[1])
			} else {
				decodeAll(t, dir, build(t, filesys.MakeFsOnDisk(), dir).Resources())
			}
		}
		if !strings.HasPrefix(c, "kubectl") && !strings.Contains(c, " kubectl ") {
			continue
		}
		for _, m := range kubectlRef.FindAllStringSubmatch(applyK.ReplaceAllString(c, ""), -1) {
			ref := kindAliases[m[1]] + "/" + m[2]
			if !names[ref] {
				t.Errorf("runbook: %q names %s, which prod does not create", c, ref)
			}
		}
	}
}

// TestRunbookShellCommandsUseOnlyTheirContainersVariables: a `kubectl exec ... -- sh -c
// '...'` in the runbook, and every `sh -c` a workload runs, may use only variables its
// container sets (or the script assigns). An unset variable is an empty string to the
// shell: a backup that sends an empty password looks like it ran.
func TestRunbookShellCommandsUseOnlyTheirContainersVariables(t *testing.T) {
	// The prod overlay and the one-off restore Job.
	objs := append(render(t, "prod"), decodeAll(t, "restore", build(t, filesys.MakeFsOnDisk(), filepath.Join("k8s", "restore")).Resources())...)
	secretKeys := exampleSecretKeys(t)
	configMaps := map[string][]string{}
	for _, o := range objs {
		if cm, ok := o.(*corev1.ConfigMap); ok {
			for k := range cm.Data {
				configMaps[cm.Name] = append(configMaps[cm.Name], k)
			}
		}
	}
	envOf := func(c corev1.Container) map[string]bool {
		set := map[string]bool{}
		for _, e := range c.Env {
			set[e.Name] = true
		}
		for _, from := range c.EnvFrom {
			if from.ConfigMapRef != nil {
				for _, k := range configMaps[from.ConfigMapRef.Name] {
					set[from.Prefix+k] = true
				}
			}
			if from.SecretRef != nil {
				for _, k := range secretKeys[from.SecretRef.Name] {
					set[from.Prefix+k] = true
				}
			}
		}
		return set
	}
	check := func(where, script string, env map[string]bool) {
		assigned := map[string]bool{}
		for _, m := range shellAssign.FindAllStringSubmatch(script, -1) {
			assigned[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`\bfor ([A-Za-z_]+) in`).FindAllStringSubmatch(script, -1) {
			assigned[m[1]] = true
		}
		for _, m := range shellVar.FindAllStringSubmatch(script, -1) {
			if !env[m[1]] && !assigned[m[1]] && !shellBuiltin[m[1]] {
				t.Errorf("%s uses $%s, which its container does not set", where, m[1])
			}
		}
	}
	all := containers(objs)
	for where, c := range all {
		if len(c.Command) >= 2 && c.Command[len(c.Command)-2] == "-c" && strings.HasSuffix(c.Command[0], "sh") {
			check(where, c.Command[len(c.Command)-1], envOf(c))
		}
		if len(c.Args) >= 2 && c.Args[0] == "-c" {
			check(where, c.Args[1], envOf(c))
		}
	}
	for _, cmd := range runbookCommands(t) {
		m := execInto.FindStringSubmatch(cmd)
		if m == nil {
			continue
		}
		target, container := m[1], m[2]
		var found *corev1.Container
		for where, c := range all {
			kind, rest, _ := strings.Cut(where, "/")
			name, cname, _ := strings.Cut(rest, " ")
			ok := false
			switch {
			case strings.HasPrefix(target, "deploy/"):
				ok = kind == "Deployment" && name == strings.TrimPrefix(target, "deploy/")
			case strings.HasPrefix(target, "sts/") || strings.HasPrefix(target, "statefulset/"):
				_, n, _ := strings.Cut(target, "/")
				ok = kind == "StatefulSet" && name == n
			default: // a pod of a StatefulSet: name-ordinal
				ok = kind == "StatefulSet" && regexp.MustCompile("^"+regexp.QuoteMeta(name)+`-\d+$`).MatchString(target)
			}
			if ok && (container == "" || container == cname) {
				cc := c
				found = &cc
			}
		}
		if found == nil {
			t.Errorf("runbook: %q execs into %s %s, which prod does not run", cmd, target, container)
			continue
		}
		check("runbook: "+cmd, m[3], envOf(*found))
	}
}

var (
	nsFlag        = regexp.MustCompile(`(?:\s-n|--namespace)[\s=](\S+)`)
	nsSetting     = regexp.MustCompile(`--set [\w.]*[nN]amespace=(\S+)`)
	nsCreate      = regexp.MustCompile(`kubectl create (?:namespace|ns) (\S+)`)
	shellSetting  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(\S+)$`)
	jobFromCron   = regexp.MustCompile(`create job --from=cronjob/(\S+) (\S+)`)
	logsOfJob     = regexp.MustCompile(`kubectl .*\blogs\b.*\bjob/([a-z0-9-]+)`)
	waitForJob    = regexp.MustCompile(`kubectl .*\bwait\b.*\bjob/([a-z0-9-]+)`)
	containerFlag = regexp.MustCompile(`\s-c\s+(\S+)`)
)

// TestRunbookCreatesEachNamespaceBeforeUsingIt: typed in order, no command of the
// runbook names a namespace (-n, --namespace, a chart's *namespace setting) before a
// command has created it. The MongoDB operator's chart writes its Role into the
// namespace it watches, which the runbook created only in Install step 3: the helm
// install failed.
func TestRunbookCreatesEachNamespaceBeforeUsingIt(t *testing.T) {
	created := map[string]bool{}
	vars := map[string]string{}
	for _, c := range runbookCommands(t) {
		if m := shellSetting.FindStringSubmatch(c); m != nil {
			vars[m[1]] = m[2]
			continue
		}
		c = shellVar.ReplaceAllStringFunc(c, func(v string) string {
			if val, ok := vars[strings.Trim(v, "${}")]; ok {
				return val
			}
			return v
		})
		if m := nsCreate.FindStringSubmatch(c); m != nil {
			created[m[1]] = true
		}
		if strings.Contains(c, "--create-namespace") {
			for _, m := range nsFlag.FindAllStringSubmatch(c, -1) {
				created[m[1]] = true
			}
		}
		for _, m := range append(nsFlag.FindAllStringSubmatch(c, -1), nsSetting.FindAllStringSubmatch(c, -1)...) {
			// Grafana's sidecar reads every namespace (searchNamespace=ALL), none by name.
			if !created[m[1]] && m[1] != "ALL" {
				t.Errorf("runbook: %q uses namespace %s, which no command before it creates", c, m[1])
			}
		}
	}
}

// TestRunbookInstallsTheMongoDBOperatorForTheSuitesNamespace: the members of the
// replica set run as the ServiceAccount mongodb-database, which the manifests do not
// create: the operator's chart does, in `database.namespace` or else in the chart's own
// namespace. Installed into mongodb-operator without the setting, the members were
// refused in technician-commitment and the replica set never started.
func TestRunbookInstallsTheMongoDBOperatorForTheSuitesNamespace(t *testing.T) {
	for _, o := range overlays {
		if objectNames(t, render(t, o))["ServiceAccount/mongodb-database"] {
			t.Skipf("%s creates the members' ServiceAccount itself", o)
		}
	}
	found := false
	for _, c := range runbookCommands(t) {
		if !strings.HasPrefix(c, "helm install") || !strings.Contains(c, "mongodb/community-operator") {
			continue
		}
		found = true
		release := ""
		if m := nsFlag.FindStringSubmatch(c); m != nil {
			release = m[1]
		}
		if release != suiteNamespace && !strings.Contains(c, "--set database.namespace="+suiteNamespace) {
			t.Errorf("runbook: %q puts the members' ServiceAccount mongodb-database in %q, not %s: set database.namespace", c, release, suiteNamespace)
		}
		if !strings.Contains(c, "operator.watchNamespace="+suiteNamespace) {
			t.Errorf("runbook: %q does not have the operator watch %s", c, suiteNamespace)
		}
	}
	if !found {
		t.Error("the runbook does not install the MongoDB Community Operator")
	}
}

// chartVersion is helm's --version with an exact version: without one, helm installs
// whatever the repository's newest chart is that day.
var chartVersion = regexp.MustCompile(`\s--version[\s=]v?\d+\.\d+\.\d+(\s|$)`)

// TestRunbookPinsEveryChartItInstalls: each `helm install` names the exact chart
// version the manifests were written against (the MongoDB operator's labels and
// container names, the Secret keys it writes; the values the installs set). The
// cert-manager and MongoDB operator installs named none.
func TestRunbookPinsEveryChartItInstalls(t *testing.T) {
	found := 0
	for _, c := range runbookCommands(t) {
		if !strings.HasPrefix(c, "helm install ") && !strings.HasPrefix(c, "helm upgrade ") {
			continue
		}
		found++
		if !chartVersion.MatchString(c) {
			t.Errorf("runbook: %q installs whichever chart version is newest: give --version", c)
		}
	}
	if found == 0 {
		t.Error("the runbook installs no chart")
	}
}

// inlineKubectl matches a kubectl command quoted in the runbook's prose.
var inlineKubectl = regexp.MustCompile("`(kubectl [^`]+)`")

// actsOnNoNamespace says whether a kubectl invocation (its verb, its arguments without
// flags, and all its words) acts on no namespace: the cluster's nodes or namespaces, Kustomize (whose output names
// its namespace), or an apply of manifests that carry theirs.
func actsOnNoNamespace(verb string, args, words []string) bool {
	first := ""
	if len(args) > 0 {
		first = args[0]
	}
	switch verb {
	case "kustomize", "drain", "cordon", "uncordon", "version", "config", "api-resources":
		return true
	case "get", "describe", "top":
		return first == "nodes" || first == "node" || first == "no" || first == "namespaces" || first == "namespace" || first == "ns"
	case "create":
		return first == "namespace" || first == "ns" || slices.Contains(words, "-k")
	case "apply":
		return true // -k or -f: the manifests name their namespace
	}
	return false
}

// TestRunbookKubectlCommandsNameTheNamespace: every kubectl command of the runbook, in a
// code block or quoted in the text, that acts on something in a namespace names it
// (-n). Typed as written into a shell whose context defaults to another namespace, a
// command without it reads another namespace's objects or finds none: `kubectl logs
// deploy/signatory | jq ...` had no -n. A bare verb quoted in the text (`kubectl
// scale`) is a mention, not a command.
func TestRunbookKubectlCommandsNameTheNamespace(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := runbookCommands(t)
	for _, m := range inlineKubectl.FindAllStringSubmatch(string(data), -1) {
		cmds = append(cmds, strings.Join(strings.Fields(m[1]), " "))
	}
	checked := 0
	for _, c := range cmds {
		for _, seg := range regexp.MustCompile(`\||&&|;|\$\(`).Split(c, -1) {
			words := strings.Fields(seg)
			if len(words) == 0 || words[0] != "kubectl" {
				continue
			}
			var verb string
			var args []string
			for i := 1; i < len(words); i++ {
				w := words[i]
				switch {
				case w == "-n" || w == "--namespace" || w == "--context":
					i++
				case strings.HasPrefix(w, "-"):
				case verb == "":
					verb = w
				default:
					args = append(args, w)
				}
			}
			if verb == "" || len(args) == 0 && !strings.Contains(seg, " -l ") {
				continue // `kubectl` or `kubectl scale` in the text: a mention
			}
			if actsOnNoNamespace(verb, args, words) {
				continue
			}
			checked++
			if !nsFlag.MatchString(seg) {
				t.Errorf("runbook: %q does not name the namespace (-n %s)", strings.TrimSpace(seg), suiteNamespace)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d kubectl commands checked for their namespace", checked)
	}
}

// TestRunbookRestartsEveryReaderOfARotatedNATSPassword: the NATS passwords reach the
// pods as environment variables, read at start, so the rotation step (Secrets, "A NATS
// password") restarts every workload that reads a key of nats-users. It restarted NATS
// and the service, never nats-box, whose ops and sys users then kept the old passwords
// and were refused: the dead-letter commands failed until someone restarted it.
func TestRunbookRestartsEveryReaderOfARotatedNATSPassword(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n2. A NATS password")
	if start < 0 {
		t.Fatal(`the runbook's rotation has no step "2. A NATS password"`)
	}
	step := text[start+1:]
	if end := strings.Index(step, "\n3. "); end >= 0 {
		step = step[:end]
	}
	readers := map[string]bool{}
	for where, c := range containers(render(t, "prod")) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "nats-users" {
				kindName, _, _ := strings.Cut(where, " ")
				kind, name, _ := strings.Cut(kindName, "/")
				readers[map[string]string{"Deployment": "deploy", "StatefulSet": "statefulset"}[kind]+"/"+name] = true
			}
		}
	}
	if len(readers) < 2 {
		t.Fatalf("only %v read the Secret nats-users", readers)
	}
	for r := range readers {
		if !strings.Contains(step, "rollout restart "+r) {
			t.Errorf("runbook: rotating a NATS password does not restart %s, which reads nats-users at start:\n%s", r, step)
		}
	}
}

// runbookSection returns the text of deploy/README.md from the heading named to the
// next heading of any level.
func runbookSection(t testing.TB, heading string) string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("the runbook has no heading %q", heading)
	}
	rest := text[start+len(heading)+2:]
	if end := regexp.MustCompile(`(?m)^#{1,6} `).FindStringIndex(rest); end != nil {
		rest = rest[:end[0]]
	}
	return rest
}

// TestEnvFilesSettingsSentToConfigureAreThere: a setting whose comment in a base env
// file sends the reader to the runbook's Configure step is named there. The services'
// and the portal's HTTP_TRUSTED_PROXIES said "set this to the cluster's pod network
// (deploy/README.md, Configure)", and Configure never mentioned it. (A file's opening
// comment, about the file, is not a setting's.)
func TestEnvFilesSettingsSentToConfigureAreThere(t *testing.T) {
	configure := runbookSection(t, "### 2. Configure")
	files, err := filepath.Glob(filepath.Join("k8s", "base", "services", "*.env"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no env files: %v", err)
	}
	sent := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var comment strings.Builder
		opening := true
		for _, line := range strings.Split(string(data), "\n") {
			switch {
			case strings.HasPrefix(line, "#"):
				comment.WriteString(line + " ")
				continue
			case strings.Contains(line, "="):
				key, _, _ := strings.Cut(line, "=")
				if !opening && strings.Contains(strings.Join(strings.Fields(comment.String()), " "), "deploy/README.md, Configure") {
					sent++
					if !regexp.MustCompile("`" + regexp.QuoteMeta(key) + "`").MatchString(configure) {
						t.Errorf("%s: %s's comment sends the reader to deploy/README.md, Configure, which does not name it", f, key)
					}
				}
			}
			opening = false
			comment.Reset()
		}
	}
	if sent == 0 {
		t.Error("no env file sends the reader to Configure for a setting")
	}
}

// TestRunbookReadsAJobsLogsOnceItHasRun: a Job's logs are read after a `kubectl wait`
// for that Job, and a container named with -c is one of its pod's. Followed at once, a
// container that waits behind an init container (the backup's upload, the restore's
// mongorestore) fails with "is waiting to start: PodInitializing".
func TestRunbookReadsAJobsLogsOnceItHasRun(t *testing.T) {
	objs := append(render(t, "prod"), decodeAll(t, "restore", build(t, filesys.MakeFsOnDisk(), filepath.Join("k8s", "restore")).Resources())...)
	jobContainers := map[string][]string{}
	cronContainers := map[string][]string{}
	for where := range containers(objs) {
		kindName, container, _ := strings.Cut(where, " ")
		kind, name, _ := strings.Cut(kindName, "/")
		switch kind {
		case "Job":
			jobContainers[name] = append(jobContainers[name], container)
		case "CronJob":
			cronContainers[name] = append(cronContainers[name], container)
		}
	}
	waited := map[string]bool{}
	read := 0
	for _, c := range runbookCommands(t) {
		if m := jobFromCron.FindStringSubmatch(c); m != nil {
			jobContainers[m[2]] = cronContainers[m[1]]
		}
		if m := waitForJob.FindStringSubmatch(c); m != nil {
			waited[m[1]] = true
		}
		m := logsOfJob.FindStringSubmatch(c)
		if m == nil {
			continue
		}
		read++
		job := m[1]
		names, known := jobContainers[job]
		if !known {
			t.Errorf("runbook: %q reads the logs of job/%s, which neither the manifests nor the runbook create", c, job)
			continue
		}
		if cm := containerFlag.FindStringSubmatch(c); cm != nil && !slices.Contains(names, cm[1]) {
			t.Errorf("runbook: %q names container %s; job/%s has %v", c, cm[1], job, names)
		}
		if !waited[job] {
			t.Errorf("runbook: %q reads job/%s's logs before any `kubectl wait` for it: a container behind an init container has not started", c, job)
		}
	}
	if read == 0 {
		t.Error("the runbook reads no Job's logs: the backup and restore steps should")
	}
}
