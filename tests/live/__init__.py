"""Live runs of the servers this project builds, from their own image recipes (`make e2e`).

recipes.py reads a Dockerfile into what installs and starts the server; install.py
installs its exact pins once per lock (cached outside git); launch.py starts it as its
MCPServer configures it, on a loopback-only network namespace when run as root.
"""
