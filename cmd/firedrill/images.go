package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/firedrill-dev/firedrill/harness/images"
)

func init() { subcommands = append(subcommands, newImagesCmd) }

func newImagesCmd() *cobra.Command {
	var (
		repoRoot, cacheDir, out, mirror, buildLog, source string
		verbosity                                         int
	)
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build every image the drill cluster runs, offline (kind node image and the AUREUS stack)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Before anything is created: without docker there is nothing to build.
			if err := images.CheckDocker(cmd.Context()); err != nil {
				return badInput("%v", err)
			}
			if cacheDir == "" {
				dir, err := images.DefaultCacheDir()
				if err != nil {
					return badInput("%v", err)
				}
				cacheDir = dir
			}
			logFile, err := openBuildLog(buildLog)
			if err != nil {
				return err
			}
			defer logFile.Close()
			res, err := images.Build(cmd.Context(), images.Config{
				RepoRoot:     repoRoot,
				CacheDir:     cacheDir,
				DebianMirror: mirror,
				Source:       source,
				BuildLog:     logFile,
				Log:          newLogger(verbosity),
			})
			if err != nil {
				return err
			}
			return images.WriteResult(out, res)
		},
	}
	cmd.Flags().StringVar(&repoRoot, "repo", ".", "the firedrill checkout holding fixtures/")
	cmd.Flags().StringVar(&cacheDir, "cache-dir", "", "where builds are cached (default: the user's cache directory/firedrill)")
	cmd.Flags().StringVar(&out, "out", ".work/images.json", "file recording the built image tags")
	cmd.Flags().StringVar(&mirror, "debian-mirror", "http://deb.debian.org/debian", "Debian mirror for debootstrap and apt-get")
	cmd.Flags().StringVar(&buildLog, "build-log", ".work/images-build.log", "file receiving the output of build commands")
	cmd.Flags().StringVar(&source, "source", images.SourceAuto, "auto (upstream images when a registry answers), offline (build everything here) or upstream")
	cmd.Flags().IntVarP(&verbosity, "verbose", "v", 0, "log verbosity (1 shows kind's build output)")
	return cmd
}

func openBuildLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, badInput("create %s: %v", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, badInput("open build log %s: %v", path, err)
	}
	return f, nil
}
