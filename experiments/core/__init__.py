"""The training framework every task uses: config and command line, training loop and step,
optimisers, non-finite handling, run directories, plots, checkpoints, device mesh, sweeps."""
