#!/usr/bin/env bash
# Passes all of standard input to the user's script as its first argument.
input="$(cat; printf x)"
exec /app/run.sh "${input%x}"
