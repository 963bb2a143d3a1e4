echo "Hello, world!"
for i in 1 2 3; do
  sleep 0.5
  echo "tick $i"
done
