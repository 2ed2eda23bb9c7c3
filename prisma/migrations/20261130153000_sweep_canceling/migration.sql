-- A canceled sweep waits in "canceling" until its running runs have stopped; it is
-- "canceled" only once every run of it has finished.
ALTER TYPE "SweepStatus" ADD VALUE 'canceling' BEFORE 'done';
