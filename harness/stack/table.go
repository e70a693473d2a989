package stack

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/firedrill-dev/firedrill/harness/shell"
)

// secretVars are the variables the runbook's commands may expand, and the Secret each comes from.
var secretVars = []struct{ name, secret, key string }{
	{"REDIS_PASSWORD", RedisName, "password"},
	{"POSTGRES_PASSWORD", PostgresName, "password"},
	{"PGPASSWORD", PostgresName, "password"},
	{"ADMIN_TOKEN", "aureus-admin", "token"},
}

// Table is the one table a drill fills the runbook's placeholders and variables from: the incident
// id, the incident commander, and the stack's secrets read from the cluster at run time (their
// values are redacted from every output).
func Table(ctx context.Context, cs kubernetes.Interface, incidentID, commander string) (shell.Table, error) {
	t := shell.Table{Placeholders: []shell.Placeholder{
		{Token: "[ID]", Value: incidentID, Means: "the drill's incident id"},
		{Token: "[INCIDENT-ID]", Value: incidentID, Means: "the drill's incident id"},
		{Token: "[INCIDENT_ID]", Value: incidentID, Means: "the drill's incident id"},
		{Token: "[IC]", Value: commander, Means: "the drill's incident commander"},
		{Token: "[INCIDENT_COMMANDER_NAME]", Value: commander, Means: "the drill's incident commander"},
	}}
	for _, v := range secretVars {
		s, err := cs.CoreV1().Secrets(Namespace).Get(ctx, v.secret, metav1.GetOptions{})
		if err != nil {
			return t, fmt.Errorf("read secret %s for $%s: %w", v.secret, v.name, err)
		}
		value, ok := s.Data[v.key]
		if !ok {
			return t, fmt.Errorf("secret %s has no key %q for $%s", v.secret, v.key, v.name)
		}
		t.Vars = append(t.Vars, shell.Var{Name: v.name, Value: string(value), Secret: true,
			From: fmt.Sprintf("Secret %s, key %s", v.secret, v.key)})
	}
	return t, nil
}
