package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/firedrill-dev/firedrill/harness/cluster"
	"github.com/firedrill-dev/firedrill/harness/drill"
)

func init() { subcommands = append(subcommands, newCleanupCmd) }

func newCleanupCmd() *cobra.Command {
	var flags clusterFlags
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Undo every fault and change a crashed or killed drill left behind, from its undo journal",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			journals, err := filepath.Glob(filepath.Join(flags.workDir, "journal", "*.jsonl"))
			if err != nil {
				return badInput("%v", err)
			}
			cfg := flags.config()
			var c *cluster.Cluster
			undone := 0
			for _, path := range journals {
				j, err := drill.OpenJournal(path)
				if err != nil {
					return fmt.Errorf("open %s: %w", path, err)
				}
				pending, err := j.Pending()
				if err != nil {
					return fmt.Errorf("read %s: %w", path, err)
				}
				if len(pending) == 0 {
					continue
				}
				if c == nil {
					if c, err = flags.connect(cmd.Context()); err != nil {
						return err
					}
				}
				cfg.Log.Info("replaying undo journal", "journal", path, "pending", len(pending))
				if err := j.Replay(cmd.Context(), c); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				undone += len(pending)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cleanup: %d undo entries replayed from %d journals\n", undone, len(journals))
			return nil
		},
	}
	flags.register(cmd)
	return cmd
}
