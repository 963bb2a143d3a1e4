#!/usr/bin/env bash
name="${1:-world}"
echo -n "Hello, ${name}!"
