package validate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// shellVars are set by any shell; a runbook may use them without defining them.
var shellVars = map[string]bool{
	"HOME": true, "PATH": true, "USER": true, "PWD": true, "SHELL": true, "HOSTNAME": true, "RANDOM": true,
	"TMPDIR": true, "LANG": true, "TERM": true, "UID": true, "OLDPWD": true, "?": true, "$": true, "!": true,
	"#": true, "@": true, "*": true, "0": true, "1": true, "2": true, "3": true,
}

// definedVars returns the variables the runbook itself sets: "export X=...", "X=..." on a line of
// their own, "read X".
func definedVars(rb *runbook.Runbook) map[string]bool {
	out := map[string]bool{}
	name := func(s string) string { n, _, _ := strings.Cut(s, "="); return n }
	for _, b := range rb.Blocks {
		for _, c := range b.Commands {
			for _, call := range c.Calls {
				if len(call.Args) == 0 {
					for _, e := range call.Env {
						out[name(e.Lit)] = true
					}
				}
				switch call.Name() {
				case "export", "read", "declare", "local", "readonly", "typeset":
					for _, a := range call.Args[1:] {
						if !strings.HasPrefix(a.Lit, "-") {
							out[name(a.Lit)] = true
						}
					}
				}
			}
		}
	}
	return out
}

var (
	placeholderRE = regexp.MustCompile(`\[[A-Z@][A-Za-z0-9_ /@.-]*\]|<[A-Z][A-Z0-9_-]+>`)
	secretNameRE  = regexp.MustCompile(`(?i)pass|secret|token|key|cred`)
)

func (v *validator) checkCommands(ctx context.Context) error {
	for _, s := range v.steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		v.checkPlaceholders(s)
		for _, call := range s.cmd.Calls {
			v.checkVars(s, call)
			v.checkLocalFiles(s, call)
			if call.Name() == "kubectl" {
				v.checkKubectl(s, call)
			}
			if inner, ok := containerCall(call); ok {
				call = inner
			}
			switch call.Name() {
			case "curl", "wget":
				v.checkURLs(s, call)
			case "redis-cli":
				v.checkRedis(s, call)
			case "find":
				if hasArg(call, "-delete") {
					v.addStep(s, Warning, "dangerous", "find -delete removes files for good and keeps no list of what went: run it first with -print, keep that list as evidence, then delete")
				}
			case "rm":
				if hasArgPrefix(call, "-r") || hasArgPrefix(call, "-f") {
					v.addStep(s, Warning, "dangerous", "rm -rf cannot be undone: list what it will remove first and keep the list as evidence")
				}
			}
			v.checkSQL(s, call)
		}
	}
	return nil
}

func hasArg(c runbook.Call, lit string) bool {
	for _, a := range c.Args {
		if a.Lit == lit {
			return true
		}
	}
	return false
}

func hasArgPrefix(c runbook.Call, prefix string) bool {
	for _, a := range c.Args[1:] {
		if strings.HasPrefix(a.Lit, prefix) && !strings.HasPrefix(a.Lit, "--") {
			return true
		}
	}
	return false
}

func (v *validator) checkPlaceholders(s step) {
	var found []string
	seen := map[string]bool{}
	for _, call := range s.cmd.Calls {
		words := append(append([]runbook.Word{}, call.Env...), call.Args...)
		for _, r := range call.Redirects {
			words = append(words, r.Target)
		}
		for _, w := range words {
			for _, p := range placeholderRE.FindAllString(w.Raw, -1) {
				if !seen[p] {
					seen[p] = true
					found = append(found, p)
				}
			}
		}
	}
	if len(found) == 0 {
		return
	}
	v.addStep(s, Error, "placeholder", fmt.Sprintf("placeholder %s would run literally: nothing fills it in, so the literal text ends up in the cluster or the evidence; set it from a variable defined at the start of the incident", strings.Join(found, ", ")))
}

func (v *validator) checkVars(s step, call runbook.Call) {
	afterDash := false
	for i, w := range call.Args {
		if w.Lit == "--" {
			afterDash = true
		}
		for _, name := range w.Vars {
			if v.defined[name] || shellVars[name] {
				continue
			}
			reason := fmt.Sprintf("$%s is not set anywhere in the runbook: the local shell expands it", name)
			if call.Name() == "kubectl" && afterDash {
				reason += " before kubectl runs, not in the pod"
			}
			if !w.Quoted && w.Raw == "$"+name || w.Raw == "${"+name+"}" {
				if i+1 < len(call.Args) {
					reason += fmt.Sprintf("; unset and unquoted, the word vanishes and %q moves into its place", call.Args[i+1].Lit)
				} else {
					reason += "; unset and unquoted, the word vanishes"
				}
			} else {
				reason += "; unset, it expands to an empty string"
			}
			if secretNameRE.MatchString(name) {
				reason += "; a secret expanded on the command line also shows in ps and shell history: read it inside the container (sh -c '... \"$" + name + "\"') or from a file"
			}
			v.addStep(s, Error, "undefined-var", reason)
		}
	}
}

func isRelativePath(p string) bool {
	return strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../")
}

func (v *validator) checkLocalFiles(s step, call runbook.Call) {
	if len(call.Args) == 0 {
		return
	}
	check := func(w runbook.Word, what string) {
		if !w.Static {
			return
		}
		path := filepath.Join(v.opts.baseDir, w.Lit)
		info, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			v.addStep(s, Error, "missing-file", fmt.Sprintf("%s %s does not exist (looked for %s, relative to the runbook): add it to the repository or fix the path", what, w.Lit, path))
		case err != nil:
			v.addStep(s, Warning, "missing-file", fmt.Sprintf("%s %s cannot be read: %v", what, w.Lit, err))
		case what == "script" && info.Mode()&0o111 == 0:
			v.addStep(s, Error, "missing-file", fmt.Sprintf("script %s is not executable: chmod +x it", w.Lit))
		}
	}
	name := call.Args[0]
	if isRelativePath(name.Lit) {
		check(name, "script")
	}
	for _, a := range call.Args[1:] {
		if a.Lit == "--" && call.Name() == "kubectl" {
			break // what follows runs in the container
		}
		if isRelativePath(a.Lit) {
			check(a, "file")
		} else if k, val, ok := strings.Cut(a.Lit, "="); ok && strings.HasPrefix(k, "-") && isRelativePath(val) {
			check(runbook.Word{Lit: val, Static: a.Static}, "file")
		}
	}
}

// containerCall returns the command that "kubectl exec ... -- CMD ARGS" runs in the container.
func containerCall(call runbook.Call) (runbook.Call, bool) {
	if call.Name() != "kubectl" || !hasArg(call, "exec") {
		return runbook.Call{}, false
	}
	for i, a := range call.Args {
		if a.Lit == "--" && i+1 < len(call.Args) {
			return runbook.Call{Line: call.Args[i+1].Line, Args: call.Args[i+1:], Piped: call.Piped, PipesOut: call.PipesOut}, true
		}
	}
	return runbook.Call{}, false
}

func (v *validator) checkKubectl(s step, call runbook.Call) {
	args := make([]string, 0, len(call.Args)-1)
	for _, a := range call.Args[1:] {
		args = append(args, a.Lit)
	}
	inv := parseKubectl(args)
	v.kubectl[s.cmd.Line] = append(v.kubectl[s.cmd.Line], inv)
	if inv.Err != nil {
		reason := fmt.Sprintf("kubectl %s rejects these arguments: %v", strings.Join(inv.Path, " "), inv.Err)
		if len(inv.Path) == 0 {
			reason = fmt.Sprintf("kubectl rejects this: %v", inv.Err)
		}
		if inv.Is("exec") && strings.Contains(inv.Err.Error(), "'l'") {
			reason += "; kubectl exec takes one pod or TYPE/NAME (e.g. deployment/NAME or statefulset/NAME), not a label selector"
		}
		v.addStep(s, Error, "kubectl-args", reason)
		return
	}
	if inv.Is("exec") || inv.Is("attach") || inv.Is("run") {
		if inv.Bool("tty") {
			reason := "-t asks for a terminal: run non-interactively (a drill, CI, a script) kubectl says \"Unable to use a TTY - input is not a terminal\"; drop -t, and -i unless stdin is piped in"
			if call.Piped {
				reason = "-t with stdin piped in: a pipe is not a terminal, so kubectl says \"Unable to use a TTY - input is not a terminal\"; keep -i, drop -t"
			}
			if call.PipesOut {
				reason += "; with -t the output also goes through a pseudo-terminal (\\r\\n line ends) into the next command of the pipe"
			}
			v.addStep(s, Warning, "tty", reason)
		}
		if call.Piped && !inv.Bool("stdin") {
			v.addStep(s, Error, "stdin", "stdin is piped into kubectl but -i is not set: the container never sees it")
		}
	}
	if inv.Is("exec") {
		if f, _ := inv.Flag("filename"); len(inv.Positional) == 0 && (f == "" || f == "[]") {
			v.addStep(s, Error, "kubectl-args", "kubectl exec needs a pod or TYPE/NAME before \"--\"")
		}
		dash := false
		for _, a := range call.Args {
			if a.Lit == "--" {
				dash = true
				continue
			}
			if dash && a.Glob {
				v.addStep(s, Error, "remote-glob", fmt.Sprintf("%s is a glob after \"--\": kubectl exec runs the command without a shell, so the pod never expands it, while your local shell expands it against your own filesystem; wrap it: -- sh -c '... %s'", a.Raw, a.Lit))
			}
		}
	}
	if inv.Is("logs") {
		sel, _ := inv.Flag("selector")
		_, tailSet := inv.Flag("tail")
		if sel != "" && !tailSet {
			v.addStep(s, Warning, "logs-tail", "with a label selector, kubectl logs prints only the last 10 lines of each container unless --tail is given: the capture is cut short; add --tail=-1 (and --prefix to know which pod said what)")
		}
	}
	if inv.Is("rollout", "restart") {
		for _, p := range inv.Positional {
			kind, _, _ := strings.Cut(strings.ToLower(p), "/")
			if strings.HasPrefix(kind, "statefulset") || kind == "sts" {
				v.addStep(s, Warning, "dangerous", fmt.Sprintf("rollout restart of %s replaces its pods one at a time in order; for a single-replica database that is an outage that drops every connection and interrupts in-flight writes; prefer fixing the cause, and take a backup first", p))
			}
		}
	}
	if inv.Is("scale") {
		v.checkScale(s, inv)
	}
	if inv.Is("set", "env") {
		target := first(inv.Positional)
		v.addStep(s, Info, "rollout", fmt.Sprintf("kubectl set env changes the pod template of %s: every pod is replaced (a rollout), which takes minutes and restarts the application; undo it with the same command and NAME- or the old value", target))
	}
	if inv.Is("patch") && len(inv.Positional) > 0 && strings.HasPrefix(strings.ToLower(inv.Positional[0]), "pvc") {
		v.addStep(s, Warning, "irreversible", "a PersistentVolumeClaim can grow but never shrink, and only if its StorageClass has allowVolumeExpansion: true; check kubectl get storageclass first and record the old size")
	}
	if inv.Is("delete") {
		v.addStep(s, Warning, "dangerous", "kubectl delete cannot be undone: save the object first (kubectl get -o yaml > evidence)")
	}
}

func (v *validator) checkScale(s step, inv kubectlInvocation) {
	replicas, set := inv.Flag("replicas")
	if !set {
		return
	}
	n, _ := strconv.Atoi(replicas)
	target := first(inv.Positional)
	reason := fmt.Sprintf("scales %s to a fixed %d whatever runs now: if more replicas run (or an autoscaler manages it) this cuts capacity; record the current count (kubectl get %s -o jsonpath='{.spec.replicas}') and scale relative to it", target, n, target)
	if n <= 1 {
		reason += fmt.Sprintf("; %d replica leaves no redundancy while it lasts", n)
	}
	// Scaling the same target again later in the scenario restores a fixed number, not the recorded one.
	for _, other := range v.steps {
		if other.scenario == s.scenario && s.scenario != nil && other.cmd.Line < s.cmd.Line && strings.Contains(other.cmd.Text, "scale") && strings.Contains(other.cmd.Text, target) {
			reason = fmt.Sprintf("scales %s back to a fixed %d after the scale-down at line %d, not to the count it had before: record the count before scaling down and restore that", target, n, other.cmd.Line)
		}
	}
	v.addStep(s, Warning, "scale", reason)
}

// curl's protocols, as listed by curl --version.
var curlSchemes = map[string]bool{
	"http": true, "https": true, "ftp": true, "ftps": true, "file": true, "dict": true, "gopher": true, "gophers": true,
	"imap": true, "imaps": true, "ldap": true, "ldaps": true, "mqtt": true, "pop3": true, "pop3s": true, "rtsp": true,
	"scp": true, "sftp": true, "smb": true, "smbs": true, "smtp": true, "smtps": true, "telnet": true, "tftp": true,
	"ws": true, "wss": true,
}

// placeholderHost reports hosts reserved for documentation (RFC 2606, RFC 6761).
func placeholderHost(host string) bool {
	h := strings.ToLower(host)
	for _, suffix := range []string{"example.com", "example.org", "example.net", ".example", ".test", ".invalid"} {
		if h == strings.TrimPrefix(suffix, ".") || strings.HasSuffix(h, "."+strings.TrimPrefix(suffix, ".")) || strings.HasSuffix(h, suffix) {
			return true
		}
	}
	return false
}

func (v *validator) checkURLs(s step, call runbook.Call) {
	hasFail, hasTimeout := false, false
	for _, a := range call.Args[1:] {
		switch {
		case a.Lit == "--fail" || a.Lit == "--fail-with-body":
			hasFail = true
		case a.Lit == "-m" || strings.HasPrefix(a.Lit, "--max-time") || strings.HasPrefix(a.Lit, "--connect-timeout"):
			hasTimeout = true
		case len(a.Lit) > 1 && a.Lit[0] == '-' && a.Lit[1] != '-' && strings.Contains(a.Lit, "f"): // -f, -fsS
			hasFail = true
		}
	}
	fix := "add -f"
	if !hasTimeout {
		fix += " and --max-time so it cannot hang"
	}
	for _, a := range call.Args[1:] {
		if !strings.Contains(a.Lit, "://") {
			continue
		}
		u, err := url.Parse(a.Lit)
		if err != nil {
			continue
		}
		if call.Name() == "curl" && !curlSchemes[strings.ToLower(u.Scheme)] {
			v.addStep(s, Error, "url", fmt.Sprintf("curl does not speak %s://: it fails with \"Protocol not supported\" whatever the state of %s; test the port with a client for that protocol (e.g. pg_isready -h %s -p %s)", u.Scheme, u.Host, u.Hostname(), u.Port()))
			continue
		}
		host := u.Hostname()
		switch {
		case placeholderHost(host):
			v.addStep(s, Error, "url", fmt.Sprintf("%s is a documentation domain, not a real endpoint: the check fails (or tests the wrong host) at 3 a.m.; put the real URL here", host))
		case host != "localhost" && host != "127.0.0.1" && !strings.HasSuffix(host, ".svc") && !strings.HasSuffix(host, ".cluster.local") && strings.Contains(host, "."):
			v.addStep(s, Info, "url", fmt.Sprintf("needs network access to %s from where it runs (VPN, egress); have a fallback inside the cluster", host))
		}
		if (u.Scheme == "http" || u.Scheme == "https") && !hasFail {
			v.addStep(s, Warning, "url", "curl exits 0 on HTTP 500 or 503 without -f (--fail): the check cannot fail; "+fix)
		}
	}
}

func (v *validator) checkRedis(s step, call runbook.Call) {
	for i, a := range call.Args {
		switch strings.ToUpper(a.Lit) {
		case "-A":
			if a.Lit == "-a" && i+1 < len(call.Args) {
				v.addStep(s, Warning, "secret-on-command-line", "redis-cli -a puts the password on the command line (ps, shell history, and redis-cli warns about it): set REDISCLI_AUTH in the container instead")
			}
		case "FLUSHDB", "FLUSHALL":
			reason := fmt.Sprintf("%s deletes every key in the database, not only the cache it means to clear: sessions, rate-limit counters and queues that share it go too; delete the cache's keys by prefix (redis-cli --scan --pattern 'policy:*' | xargs redis-cli unlink)", strings.ToUpper(a.Lit))
			if s.option != nil && !s.option.Markers.RequiresApproval && !s.option.Markers.LastResort {
				reason += fmt.Sprintf("; option %s is not marked REQUIRES APPROVAL or LAST RESORT", s.option.Letter)
			}
			v.addStep(s, Warning, "dangerous", reason)
		case "KEYS":
			v.addStep(s, Warning, "dangerous", "KEYS walks the whole keyspace and blocks Redis while it runs, at the moment Redis is already under pressure: use redis-cli --scan --pattern instead")
		}
	}
}

var (
	idleIntervalRE = regexp.MustCompile(`(?i)interval\s+'(\d+)\s*(minutes?|mins?|hours?)'`)
	idleStateRE    = regexp.MustCompile(`(?i)state\s*=\s*'idle'`)
)

func (v *validator) checkSQL(s step, call runbook.Call) {
	for _, a := range call.Args {
		if a.MultiLine {
			v.addStep(s, Warning, "multi-line", fmt.Sprintf("a quoted string spans lines %d-%d: pasted into a terminal or a chat tool the line breaks and trailing spaces get mangled, and a missed quote leaves the shell waiting for more; put it on one line or in a file", a.Line, s.cmd.EndLine))
		}
		if strings.Contains(strings.ToLower(a.Lit), "pg_terminate_backend") {
			reason := "pg_terminate_backend ends sessions mid-transaction"
			if m := idleIntervalRE.FindStringSubmatch(a.Lit); m != nil && idleStateRE.MatchString(a.Lit) {
				reason = fmt.Sprintf("kills only connections idle for more than %s %s: when the pool is exhausted its connections are busy or idle for seconds, so this ends almost nothing; a pooled application reconnects at once anyway. Use a threshold of seconds and target the application's user", m[1], m[2])
			}
			if !strings.Contains(a.Lit, "pg_backend_pid") || !strings.Contains(strings.ToLower(a.Lit), "datname") {
				reason += "; it also matches every database and user on the server, replication and admin sessions included: add datname = '...' AND pid <> pg_backend_pid()"
			}
			v.addStep(s, Warning, "sql", reason)
		}
	}
}

func (v *validator) checkOptions(context.Context) error {
	for i := range v.rb.Scenarios {
		sc := &v.rb.Scenarios[i]
		where := scenarioWhere(sc)
		if len(sc.Options) == 0 && len(sc.Unlabelled) == 0 {
			v.add(Warning, "no-step", sc.Line, where, "", "the scenario has no mitigation steps: a responder has nothing to run")
		}
		if len(sc.Unlabelled) > 0 && len(sc.Options) > 0 {
			c := sc.Unlabelled[0]
			v.add(Info, "option", c.Line, where, c.Text, "mitigation command before the first \"# Option X:\" comment: it belongs to no option")
		}
		for j := range sc.Options {
			o := &sc.Options[j]
			ow := where + ", option " + o.Letter
			if len(o.Steps) == 0 {
				reason := fmt.Sprintf("option %s %q has no executable step", o.Letter, o.Title)
				if len(o.Notes) > 0 {
					reason += fmt.Sprintf(", only the note %q", strings.Join(o.Notes, " "))
				}
				v.add(Error, "no-step", o.Line, ow, "", reason+": a responder who picks it has nothing to run; write the steps or remove the option")
			}
			if o.Markers.LastResort && j == 0 && len(sc.Options) > 1 {
				v.add(Warning, "order", o.Line, ow, "", fmt.Sprintf("the LAST RESORT option comes first as option %s: under stress people run the first option; list it last", o.Letter))
			}
			v.checkRolloutWait(o, ow)
			if o.Markers.RequiresApproval && len(o.Steps) > 0 && !v.recordsApproval(o) {
				v.add(Warning, "approval", o.Line, ow, "", "marked as requiring approval but no step records who approved it and when: add a step that writes the approval to the evidence pack before the change")
			}
		}
	}
	return nil
}

// checkRolloutWait: an option that replaces pods (rollout restart or undo, set env) should wait for the
// rollout to finish before anyone declares the incident mitigated.
func (v *validator) checkRolloutWait(o *runbook.Option, where string) {
	waited := map[string]bool{}
	type change struct {
		target string
		cmd    runbook.Command
	}
	var changes []change
	for _, st := range o.Steps {
		for _, inv := range v.kubectl[st.Line] {
			target := first(inv.Positional)
			switch {
			case inv.Err != nil || target == "":
			case inv.Is("rollout", "status") || inv.Is("wait"):
				waited[target] = true
			case inv.Is("rollout", "restart") || inv.Is("rollout", "undo") || inv.Is("set", "env"):
				changes = append(changes, change{target, st})
			}
		}
	}
	for _, c := range changes {
		if !waited[c.target] {
			v.add(Warning, "rollout-wait", c.cmd.Line, where, c.cmd.Text, fmt.Sprintf("nothing in option %s waits for %s to finish rolling out: follow it with kubectl rollout status %s --timeout=5m before calling the incident mitigated", o.Letter, c.target, c.target))
		}
	}
}

var approvalWordRE = regexp.MustCompile(`(?i)approv`)

func (v *validator) recordsApproval(o *runbook.Option) bool {
	for _, st := range o.Steps {
		if approvalWordRE.MatchString(st.Text) && writesFile(st) {
			return true
		}
	}
	return false
}

// writesFile reports whether a command writes a file: a redirect or tee.
func writesFile(c runbook.Command) bool {
	for _, call := range c.Calls {
		for _, r := range call.Redirects {
			if strings.HasPrefix(r.Op, ">") || r.Op == "&>" {
				return true
			}
		}
		for _, a := range call.Args {
			if a.Lit == "tee" {
				return true
			}
		}
	}
	return false
}

// writtenPaths returns the files a command writes: redirect targets and tee arguments.
func writtenPaths(c runbook.Command) []string {
	var out []string
	for _, call := range c.Calls {
		for _, r := range call.Redirects {
			if strings.HasPrefix(r.Op, ">") || r.Op == "&>" {
				out = append(out, r.Target.Lit)
			}
		}
		for i, a := range call.Args {
			if a.Lit == "tee" {
				for _, t := range call.Args[i+1:] {
					if !strings.HasPrefix(t.Lit, "-") {
						out = append(out, t.Lit)
					}
				}
			}
		}
	}
	return out
}

func (v *validator) checkLinks(context.Context) error {
	for _, l := range v.rb.Links {
		if strings.Contains(l.Target, "://") || strings.HasPrefix(l.Target, "#") || strings.HasPrefix(l.Target, "mailto:") || l.Target == "" {
			continue
		}
		target, _, _ := strings.Cut(l.Target, "#")
		path := filepath.Join(v.opts.baseDir, target)
		if _, err := os.Stat(path); err != nil {
			v.add(Warning, "missing-link", l.Line, "", "", fmt.Sprintf("link %q points to %s, which does not exist: the responder who follows it at 3 a.m. finds nothing", l.Text, l.Target))
		}
	}
	return nil
}

func (v *validator) checkSeverities(context.Context) error {
	cfgName := "the config file " + runbook.ConfigPathFor(v.rb.Path)
	if v.rb.Config != nil {
		cfgName = v.rb.Config.Path
	}
	for i := range v.rb.Scenarios {
		sc := &v.rb.Scenarios[i]
		where := scenarioWhere(sc)
		if sc.Severity == "" {
			v.add(Warning, "severity", sc.Line, where, "", fmt.Sprintf("no severity: the runbook does not state one and %s has none; the drill has no response-time target. Add \"**Severity:** %s\" to the scenario or a severity with a reason to the config", cfgName, v.exampleSeverity()))
			continue
		}
		rt := ""
		if sev, ok := v.rb.SeverityByName(sc.Severity); ok {
			rt = ", response time " + shortDuration(sev.ResponseTime)
		}
		v.add(Info, "severity", sc.Line, where, "", fmt.Sprintf("severity %s%s, from %s: %s", sc.Severity, rt, sc.SeveritySource, sc.SeveritySource.Reason))
		if v.rb.Config != nil && sc.SeveritySource.Kind == runbook.FromRunbook {
			for _, c := range v.rb.Config.Scenarios {
				if c.Name == sc.Name && c.Severity != "" && c.Severity != sc.Severity {
					v.add(Warning, "severity", sc.Line, where, "", fmt.Sprintf("%s line %d says %s but the runbook says %s (%s); the runbook wins: fix the config", v.rb.Config.Path, c.Line, c.Severity, sc.Severity, sc.SeveritySource))
				}
			}
		}
		if len(v.rb.Schedule.Cadences) > 0 {
			if _, ok := v.rb.Schedule.CadenceFor(sc.Severity); !ok {
				v.add(Warning, "schedule", sc.Line, where, "", fmt.Sprintf("severity %s (%s) has no line in the testing schedule: nobody will drill this scenario", sc.Severity, sc.SeveritySource))
			}
		}
	}
	return nil
}

// shortDuration writes 5m, 1h or 1h30m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (v *validator) exampleSeverity() string {
	if len(v.rb.Severities) > 0 {
		return v.rb.Severities[0].Name
	}
	return "P1"
}

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func (v *validator) checkSchedule(context.Context) error {
	s := v.rb.Schedule
	if s.Line == 0 {
		v.add(Warning, "schedule", 0, "", "", "the runbook has no testing schedule: nothing says how often its scenarios are drilled")
	}
	for _, st := range []runbook.Stamp{s.LastTested, s.NextTestDue} {
		if st.Line > 0 && !dateRE.MatchString(st.Value) {
			v.add(Warning, "schedule", st.Line, "", "", fmt.Sprintf("%s is %q, not a date (YYYY-MM-DD): the runbook has no record of being tested; run a drill and firedrill report --update-runbook", st.Label, st.Value))
		}
	}
	return nil
}

func (v *validator) checkBlocks(context.Context) error {
	for _, b := range v.rb.Blocks {
		if b.ParseError == "" {
			continue
		}
		if strings.ContainsAny(b.Text, "├└") {
			v.add(Info, "block", b.Line, "", "", "this block is tagged "+b.Lang+" but is a directory tree, not commands: someone pasting it runs nonsense; tag it text")
			continue
		}
		v.add(Warning, "block", b.Line, "", "", fmt.Sprintf("this %s block does not parse as shell (%s): pasted, it fails", b.Lang, b.ParseError))
	}
	return nil
}
