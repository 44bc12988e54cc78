"""``python -m keyframe ...`` runs the ``keyframe`` command, for an environment whose scripts are not on PATH."""

from keyframe.launch import main

main()
