package images

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDockerImagesSmoke runs each built stack image under docker and checks it answers: a SQL
// query, a Redis PING, the frontend's liveness endpoint. It needs Docker and built images: set
// FIREDRILL_IMAGES to the record `firedrill images` writes (make e2e does).
func TestDockerImagesSmoke(t *testing.T) {
	record := os.Getenv("FIREDRILL_IMAGES")
	if record == "" {
		t.Skip("needs Docker and built images: run through make e2e, or set FIREDRILL_IMAGES=.work/images.json")
	}
	res, err := ReadResult(record)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := CheckDocker(ctx); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		image string
		env   []string
		probe []string
		want  string
	}{
		{res.Stack[Postgres], []string{"POSTGRES_PASSWORD=smoke-test-password"},
			[]string{"psql", "-U", "aureus", "-d", "aureus_metadata", "-tAc", "SELECT 40 + 2"}, "42"},
		{res.Stack[Redis], []string{"REDIS_PASSWORD=smoke-test-password"},
			[]string{"redis-cli", "-a", "smoke-test-password", "--no-auth-warning", "PING"}, "PONG"},
		{res.Stack[Frontend], nil,
			[]string{"curl", "-s", "http://localhost:5000/livez"}, `"status":"alive"`},
	}
	for _, c := range cases {
		repo, _, _ := cutTag(c.image)
		t.Run(repo, func(t *testing.T) {
			args := []string{"run", "-d", "--rm"}
			for _, e := range c.env {
				args = append(args, "-e", e)
			}
			id, err := docker(ctx, nil, append(args, c.image)...)
			if err != nil {
				t.Fatal(err)
			}
			id = strings.TrimSpace(id)
			defer docker(context.Background(), nil, "rm", "-f", id)
			var out string
			for ctx.Err() == nil {
				out, err = docker(ctx, nil, append([]string{"exec", id}, c.probe...)...)
				if err == nil && strings.Contains(out, c.want) {
					return
				}
				time.Sleep(time.Second)
			}
			logs, _ := docker(context.Background(), nil, "logs", "--tail", "20", id)
			t.Fatalf("%s never answered %q (last: %q, %v); logs:\n%s", c.image, c.want, out, err, logs)
		})
	}
}
