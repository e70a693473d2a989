package main

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-dev/firedrill/harness/cluster"
	"github.com/firedrill-dev/firedrill/harness/images"
	"github.com/firedrill-dev/firedrill/harness/stack"
)

func init() { subcommands = append(subcommands, newClusterCmd) }

// clusterFlags are shared by the commands that act on the drill cluster.
type clusterFlags struct {
	name, workDir, imagesFile, repoRoot string
	verbosity                           int
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.name, "cluster", cluster.DefaultName, "kind cluster name")
	cmd.PersistentFlags().StringVar(&f.workDir, "work-dir", ".work", "firedrill's work directory (kubeconfig, build records)")
	cmd.PersistentFlags().StringVar(&f.imagesFile, "images", "", "built image record (default <work-dir>/images.json)")
	cmd.PersistentFlags().StringVar(&f.repoRoot, "repo", ".", "the firedrill checkout holding fixtures/")
	cmd.PersistentFlags().IntVarP(&f.verbosity, "verbose", "v", 0, "log verbosity")
}

func (f *clusterFlags) config() cluster.Config {
	return cluster.Config{
		Name:       f.name,
		Kubeconfig: filepath.Join(f.workDir, "kubeconfig"),
		Log:        newLogger(f.verbosity),
	}
}

// connect returns clients for the drill cluster, or a one-line bad-input error that says what to
// start or create first: docker, then the kind cluster.
func (f *clusterFlags) connect(ctx context.Context) (*cluster.Cluster, error) {
	if err := images.CheckDocker(ctx); err != nil {
		return nil, badInput("%v", err)
	}
	c, err := cluster.Connect(f.config())
	switch {
	case errors.Is(err, cluster.ErrNotFound) && f.name == cluster.DefaultName:
		return nil, badInput("kind cluster %q does not exist: run 'make cluster-up' first", f.name)
	case errors.Is(err, cluster.ErrNotFound):
		return nil, badInput("kind cluster %q does not exist: run 'make cluster-up' (cluster %q) or 'firedrill cluster up --cluster %s' first", f.name, cluster.DefaultName, f.name)
	case err != nil:
		return nil, badInput("cannot connect to kind cluster %q: %v", f.name, err)
	}
	return c, nil
}

func (f *clusterFlags) builtImages() (images.Result, error) {
	path := f.imagesFile
	if path == "" {
		path = filepath.Join(f.workDir, "images.json")
	}
	return images.ReadResult(path)
}

func newClusterCmd() *cobra.Command {
	var flags clusterFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Create, reuse or delete the kind cluster drills run on",
	}
	flags.register(cmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Create (or reuse) the cluster and deploy the AUREUS stack, waiting until it is rolled out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := images.CheckDocker(ctx); err != nil {
				return badInput("%v", err)
			}
			built, err := flags.builtImages()
			if err != nil {
				return badInput("%v", err)
			}
			cfg := flags.config()
			cfg.NodeImage = built.NodeImage
			start := time.Now()
			c, err := cluster.Up(ctx, cfg)
			if err != nil {
				return err
			}
			var refs []string
			for _, ref := range built.Stack {
				refs = append(refs, ref)
			}
			err = stack.Deploy(ctx, c, stack.Config{RepoRoot: flags.repoRoot, Images: refs, Manifests: built.Manifests, Log: cfg.Log})
			if err != nil {
				logs := filepath.Join(flags.workDir, "cluster-logs")
				if exportErr := c.ExportLogs(logs); exportErr == nil {
					return errors.Join(err, errors.New("node logs exported to "+logs))
				}
				return err
			}
			cfg.Log.Info("cluster ready", "cluster", c.Name, "kubeconfig", c.Kubeconfig, "seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "down",
		Short: "Delete the cluster and its kubeconfig",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := images.CheckDocker(cmd.Context()); err != nil {
				return badInput("%v", err)
			}
			return cluster.Delete(flags.config())
		},
	})
	return cmd
}
