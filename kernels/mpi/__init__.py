"""mpi4py programs run by the MPI backend under ``mpiexec``; rank 0 prints the result line."""
