package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newScenariosCmd) }

func newScenariosCmd() *cobra.Command {
	var check, config string
	cmd := &cobra.Command{
		Use:   "scenarios RUNBOOK",
		Short: "List the runbook's scenarios with their short names and severities (--check NAME to test one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, rb, err := loadRunbook(args[0], config)
			if err != nil {
				return err
			}
			var names []string
			for _, s := range rb.Scenarios {
				names = append(names, s.Name)
			}
			if check != "" {
				if _, ok := rb.ScenarioByName(check); !ok {
					return badInput("unknown scenario %q: the runbook has %s", check, strings.Join(names, ", "))
				}
				return nil
			}
			for _, s := range rb.Scenarios {
				fmt.Fprintf(cmd.OutOrStdout(), "%-10s %-4s %-40s severity from %s\n", s.Name, s.Severity, s.Title, s.SeveritySource)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&check, "check", "", "exit 2 unless the runbook has a scenario with this short name")
	cmd.Flags().StringVar(&config, "config", "", "scenario config (default: the one beside the runbook)")
	return cmd
}
