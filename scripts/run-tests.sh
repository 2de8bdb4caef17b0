#!/usr/bin/env bash
# Runs ctest in each build directory given, one after the other, and ends with one line:
# "N passed, N failed" over all of them. Exit status is non-zero when anything failed.
set -uo pipefail

# The `services` ctest fixture stops the tests' PostgreSQL and Redis itself; this is for when
# ctest does not get there (interrupted, killed by a timeout): they run detached, in their own
# session, so nothing else would stop them.
build_dirs=("$@")
stop_services() {
  local build_dir
  for build_dir in "${build_dirs[@]}"; do
    if [ -d "$build_dir/test-services" ]; then
      bash "$(dirname "${BASH_SOURCE[0]}")/test-services.sh" stop "$build_dir/test-services" || true
    fi
  done
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

total_passed=0
total_failed=0
failed_names=()
status=0
for build_dir in "$@"; do
  echo "== tests in $build_dir"
  log=$(mktemp)
  ctest --test-dir "$build_dir" --output-on-failure -j"${JOBS:-2}" --timeout 600 2>&1 | tee "$log"
  result=${PIPESTATUS[0]}
  [ "$result" -eq 0 ] || status=1
  summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
  if [ -n "$summary" ]; then
    failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$summary")
    count=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$summary")
    total_passed=$((total_passed + count - failed))
    total_failed=$((total_failed + failed))
  else
    total_failed=$((total_failed + 1))
    failed_names+=("$build_dir: ctest printed no summary")
    status=1
  fi
  # ctest lists what failed after its summary, mid-log when another suite follows: repeated
  # below so that the last lines of a run name them.
  while IFS= read -r line; do
    failed_names+=("$build_dir: ${line#"${line%%[![:space:]]*}"}")
  done < <(sed -n '/^The following tests FAILED:/,/^$/p' "$log" | grep -E '^[[:space:]]+[0-9]+ - ')
  rm -f "$log"
done
for name in "${failed_names[@]}"; do
  echo "failed in $name"
done
echo "$total_passed passed, $total_failed failed"
exit $status
