"""Rehearsals of zero-downtime rotation: rotations under concurrent load and faults.

`python -m drill --local` runs the real engine against the emulator's deployment
(emulator/topology.py) with the sample app on its sites (drill/world.py); `--hosted` drives the
Function App's handlers instead (drill/hosted.py); `--stack-outputs` without `--local` rehearses
against the deployment the outputs name (drill/rehearsal.py). drill/command.py turns the flags
into a rehearsal and its summary.
"""
