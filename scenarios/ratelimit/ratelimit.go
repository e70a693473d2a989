// Package ratelimit drills the runbook's "Rate Limiting False Positives" scenario.
//
// The fault is real traffic: a legitimate reporting job starts sending bursts above the per-user
// query limit while an abusive client hammers the service. Legitimate bursts are rejected with 429
// next to the abuser. Recovery means the legitimate burst passes while the abuser is still limited.
package ratelimit

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/firedrill-dev/firedrill/harness/drill"
)

const (
	frontend  = "aureus-frontend"
	container = "frontend"
	// legitBurst is how many queries the reporting job sends per burst: above the default limit
	// (10 per minute), below the raised one (20).
	legitBurst = 15
	// abuseBurst is far above any limit the runbook raises to.
	abuseBurst = 40
	rejected   = "Rate limit exceeded"
)

// Scenario is the rate-limiting drill.
type Scenario struct{}

var (
	_ drill.Scenario      = Scenario{}
	_ drill.RecoveryCheck = Scenario{}
)

func (Scenario) Name() string       { return "ratelimit" }
func (Scenario) Fault() drill.Fault { return legitimateBurst{} }

func (Scenario) Symptoms() []drill.Symptom {
	return []drill.Symptom{
		{Text: "Legitimate users blocked", Observe: legitimateBlocked},
		{Text: `"Rate limit exceeded" errors`, Observe: drill.LogLine(drill.FrontendSelector, container, "rate limit exceeded")},
	}
}

func (Scenario) Options() []drill.Option {
	return []drill.Option{raiseLimits(), clearUser(), disable()}
}

// Recovered: a fresh legitimate burst passes entirely, and an abusive burst is still cut off.
func (Scenario) Recovered(ctx context.Context, d *drill.Drill) (string, bool, error) {
	legit, err := burst(ctx, d, "reporting-job", legitBurst)
	if err != nil {
		return "", false, err
	}
	abuse, err := burst(ctx, d, "abusive-client", abuseBurst)
	if err != nil {
		return "", false, err
	}
	return fmt.Sprintf("legitimate burst: %d/%d rejected; abusive burst: %d/%d rejected", legit, legitBurst, abuse, abuseBurst),
		legit == 0 && abuse > 0, nil
}

var burstSeq atomic.Int64

// burst sends n queries as a new user named after role and returns how many got 429.
func burst(ctx context.Context, d *drill.Drill, role string, n int) (int, error) {
	user := fmt.Sprintf("%s-%d", role, burstSeq.Add(1))
	limited := 0
	for i := 0; i < n; i++ {
		res, err := d.Query(ctx, user, drill.ProbeDataset)
		if err != nil && res.Status == 0 {
			return limited, err
		}
		if res.Status == 429 {
			limited++
		}
	}
	return limited, nil
}

type legitimateBurst struct{}

func (legitimateBurst) Describe() string {
	return fmt.Sprintf("a legitimate reporting job sends %d queries per minute per user against the limit, beside an abusive client", legitBurst)
}

// Inject starts the traffic; it changes no configuration, so there is nothing to undo.
func (legitimateBurst) Inject(ctx context.Context, d *drill.Drill) error {
	limited, err := burst(ctx, d, "reporting-job", legitBurst)
	if err != nil {
		return err
	}
	d.Note("legitimate burst", fmt.Sprintf("%d/%d queries rejected", limited, legitBurst))
	return nil
}

func legitimateBlocked(ctx context.Context, d *drill.Drill) (string, error) {
	return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		limited, err := burst(ctx, d, "reporting-job", legitBurst)
		if err != nil {
			return "", false, nil
		}
		return fmt.Sprintf("%d/%d queries of a legitimate burst rejected with 429", limited, legitBurst), limited > 0, nil
	})
}

// raiseLimits is Option A (requires approval): the runbook's limits, set on the Deployment.
func raiseLimits() drill.Option {
	return drill.Option{
		Letter: "A",
		Do: func(ctx context.Context, d *drill.Drill) error {
			if _, _, err := d.SetEnv(ctx, frontend, container, map[string]string{"RATE_LIMIT_QUERY": "20", "RATE_LIMIT_DEPLOY": "10"}); err != nil {
				return err
			}
			if err := d.WaitRollout(ctx, drill.Deployments, frontend); err != nil {
				return err
			}
			return recordDecision(ctx, d, "limits raised to RATE_LIMIT_QUERY=20 RATE_LIMIT_DEPLOY=10")
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			legit, err := burst(ctx, d, "reporting-job", legitBurst)
			if err != nil {
				return "", err
			}
			if legit != 0 {
				return "", fmt.Errorf("%d/%d legitimate queries still rejected with the raised limits", legit, legitBurst)
			}
			return fmt.Sprintf("RATE_LIMIT_QUERY=20 on every pod; a legitimate burst of %d passes", legitBurst), nil
		},
	}
}

// clearUser is Option B: clear one user's counters through the application's admin endpoint.
// The admin token stays inside the pod: the request is made from there.
func clearUser() drill.Option {
	var user string
	return drill.Option{
		Letter: "B",
		Do: func(ctx context.Context, d *drill.Drill) error {
			user = fmt.Sprintf("blocked-analyst-%d", burstSeq.Add(1))
			for i := 0; i < abuseBurst; i++ {
				if _, err := d.Query(ctx, user, drill.ProbeDataset); err != nil {
					break
				}
			}
			_, err := d.Mutate(ctx, "clear rate-limit counters of "+user, "ratelimit/"+user, drill.Undo{}, func(ctx context.Context) error {
				out, err := d.ExecIn(ctx, drill.FrontendSelector, container, nil, "sh", "-c",
					`curl -sf -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' `+
						`-d '{"user":"`+user+`"}' http://localhost:5000/api/admin/ratelimit/reset`)
				if err != nil {
					return err
				}
				if !strings.Contains(string(out), `"cleared"`) {
					return fmt.Errorf("reset answered %q", out)
				}
				return nil
			})
			return err
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			keys, err := d.ExecIn(ctx, "component=redis", "redis", nil, "redis-cli", "--no-auth-warning", "--scan", "--pattern", "ratelimit:*:"+user)
			if err != nil {
				return "", err
			}
			if strings.TrimSpace(string(keys)) != "" {
				return "", fmt.Errorf("counters of %s still in Redis: %s", user, keys)
			}
			res, err := d.Query(ctx, user, drill.ProbeDataset)
			if err != nil || res.Status != 200 {
				return "", fmt.Errorf("%s still rejected after the reset: %d", user, res.Status)
			}
			return fmt.Sprintf("counters of %s cleared through the application; the user's next query passes", user), nil
		},
	}
}

// disable is Option C (LAST RESORT): rate limiting off, verified by the abuser passing, then
// re-enabled and verified by the abuser being limited again.
func disable() drill.Option {
	var seq int
	var undo drill.Undo
	return drill.Option{
		Letter: "C",
		Do: func(ctx context.Context, d *drill.Drill) error {
			var err error
			if seq, undo, err = d.SetEnv(ctx, frontend, container, map[string]string{"RATE_LIMITING_ENABLED": "false"}); err != nil {
				return err
			}
			if err := d.WaitRollout(ctx, drill.Deployments, frontend); err != nil {
				return err
			}
			return recordDecision(ctx, d, "rate limiting disabled")
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			abuse, err := burst(ctx, d, "abusive-client", abuseBurst)
			if err != nil {
				return "", err
			}
			if abuse != 0 {
				return "", fmt.Errorf("%d requests still limited with rate limiting disabled", abuse)
			}
			return fmt.Sprintf("rate limiting off: even an abusive burst of %d passes (why it is a last resort)", abuseBurst), nil
		},
		Revert: func(ctx context.Context, d *drill.Drill) error {
			if err := d.Revert(ctx, seq, undo); err != nil {
				return err
			}
			if err := d.WaitRollout(ctx, drill.Deployments, frontend); err != nil {
				return err
			}
			abuse, err := burst(ctx, d, "abusive-client", abuseBurst)
			if err != nil {
				return err
			}
			if abuse == 0 {
				return fmt.Errorf("rate limiting re-enabled but an abusive burst of %d passes", abuseBurst)
			}
			return nil
		},
	}
}

// recordDecision writes the runbook's "Record decision in evidence" line to the evidence volume.
func recordDecision(ctx context.Context, d *drill.Drill, what string) error {
	line := fmt.Sprintf("Rate limiting adjusted (%s) - Incident %s\n", what, d.ID)
	_, err := d.ExecIn(ctx, drill.FrontendSelector, container, strings.NewReader(line), "sh", "-c",
		`tee /app/evidence/rate-limit-adjustment-$(date +%Y%m%d-%H%M%S).log`)
	return err
}
