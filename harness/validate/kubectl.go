package validate

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
)

// kubectlInvocation is a kubectl command line parsed against kubectl's own cobra command tree.
type kubectlInvocation struct {
	Path       []string // subcommand path, e.g. ["rollout", "restart"]
	Positional []string // positional arguments before "--"
	AfterDash  []string // arguments after "--" (the command run in the container for exec)
	Err        error    // what kubectl's flag parser or argument validator rejects
	flags      *pflag.FlagSet
}

// Flag returns a flag's parsed value as a string, and whether the command line set it.
func (k kubectlInvocation) Flag(name string) (string, bool) {
	if k.flags == nil {
		return "", false
	}
	f := k.flags.Lookup(name)
	if f == nil {
		return "", false
	}
	return f.Value.String(), f.Changed
}

// Bool reports whether a boolean flag is set to true.
func (k kubectlInvocation) Bool(name string) bool {
	v, _ := k.Flag(name)
	return v == "true"
}

// Is reports whether the subcommand path starts with the given words.
func (k kubectlInvocation) Is(path ...string) bool {
	if len(k.Path) < len(path) {
		return false
	}
	for i, p := range path {
		if k.Path[i] != p {
			return false
		}
	}
	return true
}

// parseKubectl parses kubectl's arguments (without the leading "kubectl"). It builds a fresh command
// tree with kubectl's NewKubectlCommand for every call, because parsing stores flag values in the tree.
// Nothing is run and no kubeconfig is read.
func parseKubectl(args []string) kubectlInvocation {
	root := kubectlcmd.NewKubectlCommand(kubectlcmd.KubectlOptions{
		Arguments:   []string{"kubectl"},
		ConfigFlags: genericclioptions.NewConfigFlags(false),
		IOStreams:   genericiooptions.NewTestIOStreamsDiscard(),
	})
	inv := kubectlInvocation{}
	cur := root
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") {
			rest = append(rest, a)
			// A persistent flag of kubectl that takes a value in the next word: "-n ns", "--context x".
			if !strings.Contains(a, "=") && i+1 < len(args) && takesValue(cur, a) {
				rest = append(rest, args[i+1])
				i++
			}
			continue
		}
		if next := subcommand(cur, a); next != nil && len(inv.Positional) == 0 {
			cur = next
			inv.Path = append(inv.Path, next.Name())
			continue
		}
		inv.Positional = append(inv.Positional, a)
		rest = append(rest, a)
	}
	if len(inv.Path) == 0 {
		inv.Err = fmt.Errorf("%q is not a kubectl command", first(inv.Positional))
		return inv
	}
	if cur.HasSubCommands() && len(rest) == 0 {
		inv.Err = fmt.Errorf("kubectl %s needs a subcommand (one of %s)", strings.Join(inv.Path, " "), strings.Join(subcommandNames(cur), ", "))
		return inv
	}
	cur.SetArgs(rest)
	if err := cur.ParseFlags(rest); err != nil {
		inv.Err = err
		return inv
	}
	inv.flags = cur.Flags()
	all := cur.Flags().Args()
	if dash := cur.ArgsLenAtDash(); dash >= 0 && dash <= len(all) {
		inv.Positional, inv.AfterDash = all[:dash], all[dash:]
	} else {
		inv.Positional = all
	}
	if err := cur.ValidateArgs(all); err != nil {
		inv.Err = err
	}
	return inv
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func subcommand(c *cobra.Command, name string) *cobra.Command {
	for _, sub := range c.Commands() {
		if sub.Name() == name || sub.HasAlias(name) {
			return sub
		}
	}
	return nil
}

func subcommandNames(c *cobra.Command) []string {
	var out []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			out = append(out, sub.Name())
		}
	}
	return out
}

// takesValue reports whether a flag word needs the next word as its value, judged by the flags of c
// (persistent ones included). Unknown flags are assumed to take no value.
func takesValue(c *cobra.Command, word string) bool {
	for _, set := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags(), c.InheritedFlags()} {
		var f *pflag.Flag
		switch {
		case strings.HasPrefix(word, "--"):
			f = set.Lookup(word[2:])
		case len(word) == 2:
			f = set.ShorthandLookup(word[1:])
		}
		if f != nil {
			return f.NoOptDefVal == ""
		}
	}
	return false
}
