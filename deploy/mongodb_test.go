package deploy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

type mongoUser struct {
	Name                             string         `json:"name"`
	DB                               string         `json:"db"`
	ConnectionStringSecretName       string         `json:"connectionStringSecretName"`
	AdditionalConnectionStringConfig map[string]any `json:"additionalConnectionStringConfig"`
	PasswordSecretRef                struct {
		Name string `json:"name"`
	} `json:"passwordSecretRef"`
	Roles []struct {
		Name string `json:"name"`
		DB   string `json:"db"`
	} `json:"roles"`
}

// TestMongoDBUsersReachOnlyTheirOwnDatabase: the replica set runs with TLS and SCRAM;
// each service has its own user whose roles name only its own database, and the service
// reads the connection string the operator writes for that user; the backup reads the
// backup user's, which asks for the primary.
func TestMongoDBUsersReachOnlyTheirOwnDatabase(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		mdbs := customObjects(objs, "MongoDBCommunity")
		if len(mdbs) != 1 {
			t.Fatalf("%s renders %d MongoDBCommunity resources, want 1", o, len(mdbs))
		}
		m := mdbs[0]
		if on, _, _ := unstructured.NestedBool(m.Object, "spec", "security", "tls", "enabled"); !on {
			t.Errorf("%s: MongoDB without TLS", o)
		}
		var users []mongoUser
		raw, _, _ := unstructured.NestedSlice(m.Object, "spec", "users")
		if err := convert(raw, &users); err != nil {
			t.Fatal(err)
		}
		byName := map[string]mongoUser{}
		for _, u := range users {
			byName[u.Name] = u
		}
		cs := containers(objs)
		for svc := range configKeys {
			u, ok := byName[svc]
			if !ok {
				t.Errorf("%s: no MongoDB user for %s", o, svc)
				continue
			}
			for _, r := range u.Roles {
				if r.DB != svc {
					t.Errorf("%s: MongoDB user %s has %s on database %s", o, svc, r.Name, r.DB)
				}
			}
			c := cs["Deployment/"+svc+" "+svc]
			i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "MONGO_URI" })
			if i < 0 || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.SecretKeyRef == nil || c.Env[i].ValueFrom.SecretKeyRef.Name != u.ConnectionStringSecretName {
				t.Errorf("%s: %s does not read MONGO_URI from its user's connection string Secret %s", o, svc, u.ConnectionStringSecretName)
			}
		}
		backup := byName["backup"]
		if backup.AdditionalConnectionStringConfig["readPreference"] != "primary" {
			t.Errorf("%s: the backup user's connection string does not ask for the primary", o)
		}
		dump := cs["CronJob/mongodb-backup mongodump"]
		i := slices.IndexFunc(dump.Env, func(e corev1.EnvVar) bool { return e.Name == "MONGO_URI" })
		if i < 0 || dump.Env[i].ValueFrom == nil || dump.Env[i].ValueFrom.SecretKeyRef.Name != backup.ConnectionStringSecretName {
			t.Errorf("%s: mongodump does not use the backup user's connection string", o)
		}
		if script := strings.Join(dump.Command, " "); !strings.Contains(script, `--uri "$MONGO_URI"`) || !strings.Contains(script, "--oplog") {
			t.Errorf("%s: mongodump is not run against the replica-set URI with --oplog: %s", o, script)
		}
	}
}

// TestEverySecretAPodReadsHasAnOrigin: each Secret a workload reads is documented in
// k8s/secrets.example.yaml (created by hand or by the external-secrets component),
// issued by a cert-manager Certificate, or written by the MongoDB operator for a user.
func TestEverySecretAPodReadsHasAnOrigin(t *testing.T) {
	for _, o := range overlays {
		objs := render(t, o)
		origin := map[string]string{}
		for name := range exampleSecretKeys(t) {
			origin[name] = "secrets.example.yaml"
		}
		for _, c := range customObjects(objs, "Certificate") {
			name, _, _ := unstructured.NestedString(c.Object, "spec", "secretName")
			origin[name] = "Certificate " + c.GetName()
		}
		for _, m := range customObjects(objs, "MongoDBCommunity") {
			raw, _, _ := unstructured.NestedSlice(m.Object, "spec", "users")
			var users []mongoUser
			if err := convert(raw, &users); err != nil {
				t.Fatal(err)
			}
			for _, u := range users {
				origin[u.ConnectionStringSecretName] = "MongoDBCommunity user " + u.Name
				if _, ok := origin[u.PasswordSecretRef.Name]; !ok {
					t.Errorf("%s: MongoDB user %s's password Secret %s has no origin", o, u.Name, u.PasswordSecretRef.Name)
				}
			}
		}
		for name, tpl := range podSpecs(objs) {
			var refs []string
			for _, v := range tpl.Spec.Volumes {
				if v.Secret != nil {
					refs = append(refs, v.Secret.SecretName)
				}
			}
			for _, c := range append(append([]corev1.Container{}, tpl.Spec.InitContainers...), tpl.Spec.Containers...) {
				for _, e := range c.Env {
					if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && (e.ValueFrom.SecretKeyRef.Optional == nil || !*e.ValueFrom.SecretKeyRef.Optional) {
						refs = append(refs, e.ValueFrom.SecretKeyRef.Name)
					}
				}
				for _, f := range c.EnvFrom {
					if f.SecretRef != nil {
						refs = append(refs, f.SecretRef.Name)
					}
				}
			}
			for _, r := range refs {
				if _, ok := origin[r]; !ok {
					t.Errorf("%s: %s reads Secret %s, which nothing creates or documents", o, name, r)
				}
			}
		}
	}
}

// convert decodes an unstructured value into a typed one through JSON.
func convert(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
