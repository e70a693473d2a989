package shell

import (
	"regexp"
	"slices"
	"strings"
)

// readOnlyVerbs are kubectl subcommands that only read.
var readOnlyVerbs = []string{"get", "describe", "logs", "top", "events", "explain", "api-resources", "api-versions", "version", "cluster-info", "auth", "wait"}

// dryRunVerbs accept --dry-run=server.
var dryRunVerbs = [][2]string{{"rollout", "undo"}, {"scale", ""}, {"set", ""}, {"patch", ""}, {"annotate", ""}, {"label", ""}, {"apply", ""}, {"create", ""}, {"autoscale", ""}}

// mutating reports whether a kubectl command line changes anything: the cluster's objects, or data
// inside a pod for exec.
func mutating(args []string) bool {
	verb, sub := subcommand(args)
	switch {
	case slices.Contains(readOnlyVerbs, verb):
		return false
	case verb == "rollout":
		return sub != "status" && sub != "history"
	case verb == "exec":
		return execMutates(inPod(args))
	}
	return true
}

// dryRunnable returns "" when the command can be checked with a server-side dry run, else why not.
func dryRunnable(args []string) string {
	verb, sub := subcommand(args)
	for _, v := range dryRunVerbs {
		if v[0] == verb && (v[1] == "" || v[1] == sub) {
			return ""
		}
	}
	if verb == "exec" {
		return "changes data inside a pod (" + strings.Join(inPod(args), " ") + "), which has no dry run; the drill of its scenario runs it"
	}
	return "kubectl " + strings.TrimSpace(verb+" "+sub) + " has no server-side dry run; the drill of its scenario runs it"
}

// withDryRun adds --dry-run=server to a kubectl command line.
func withDryRun(args []string) []string {
	out := slices.Clone(args)
	if i := slices.Index(out, "--"); i >= 0 {
		return slices.Insert(out, i, "--dry-run=server")
	}
	return append(out, "--dry-run=server")
}

// inPod is the command kubectl exec runs in the container.
func inPod(args []string) []string {
	if i := slices.Index(args, "--"); i >= 0 {
		return args[i+1:]
	}
	return nil
}

var (
	sqlWrites   = regexp.MustCompile(`(?i)\b(insert|update|delete|drop|truncate|alter|create|grant|revoke|pg_terminate_backend|pg_cancel_backend|vacuum)\b`)
	redisWrites = regexp.MustCompile(`(?i)^(flushdb|flushall|del|unlink|set|setex|expire|hset|hdel|incr|decr|config|shutdown|rename|lpush|rpush|sadd|srem|zadd|zrem)$`)
)

// execMutates reports whether a command run in a pod changes data. Unknown programs count as
// changing data: a dry run must not guess in their favour.
func execMutates(argv []string) bool {
	if len(argv) == 0 {
		return true
	}
	prog := argv[0]
	if i := strings.LastIndex(prog, "/"); i >= 0 {
		prog = prog[i+1:]
	}
	switch prog {
	case "df", "du", "ls", "cat", "head", "tail", "stat", "wc", "ps", "env", "printenv", "id", "whoami", "date", "uptime", "free", "mount", "pg_isready":
		return false
	case "find":
		return slices.Contains(argv, "-delete") || slices.Contains(argv, "-exec") || slices.Contains(argv, "-execdir")
	case "curl":
		for i, a := range argv {
			if (a == "-X" || a == "--request") && i+1 < len(argv) {
				m := strings.ToUpper(argv[i+1])
				if m == "PUT" || m == "DELETE" || m == "PATCH" {
					return true
				}
			}
		}
		return false
	case "psql":
		return sqlWrites.MatchString(strings.Join(argv[1:], " "))
	case "redis-cli":
		for _, a := range argv[1:] {
			if redisWrites.MatchString(a) {
				return true
			}
		}
		return false
	}
	return true
}

// Targets returns the objects a kubectl command line changes, as "TYPE/NAME" strings, so they can
// be snapshotted before it runs. Commands that only read, or that change data inside a pod (exec),
// have none. ok is false when the command changes objects it does not name.
func Targets(args []string) (targets []string, ok bool) {
	if !mutating(args) {
		return nil, true
	}
	verb, sub := subcommand(args)
	if verb == "exec" {
		return nil, true
	}
	words := positionals(args)
	skip := 1
	if verb == "rollout" || verb == "set" {
		skip = 2
	}
	if len(words) <= skip {
		return nil, false
	}
	rest := words[skip:]
	if strings.Contains(rest[0], "/") {
		for _, w := range rest {
			if strings.Contains(w, "/") {
				targets = append(targets, w)
			}
		}
		return targets, len(targets) > 0
	}
	if len(rest) < 2 || sub == "" && verb == "set" {
		return nil, false
	}
	return []string{rest[0] + "/" + rest[1]}, true
}

// valueFlags are kubectl flags whose value is the next argument.
var valueFlags = []string{"-n", "--namespace", "-l", "--selector", "-c", "--container", "-p", "--patch", "--type", "-f", "--filename", "-o", "--output", "--replicas", "--to-revision", "-e", "--env"}

// Mutating reports whether a kubectl command line (without "kubectl") changes objects or data.
func Mutating(args []string) bool { return mutating(args) }
