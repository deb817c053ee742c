/**
 * A job that logs `start <sh pid>`, `child <sleep pid>` and `end <sh pid>` to `log`. The first attempt sleeps 30 s
 * (so only a kill ends it); later attempts sleep 1 s. Before starting, an attempt logs `overlap <pid>` for every
 * process of an earlier attempt that still runs (zombies, which have exited, do not count).
 */
export const loggingJob = (log: string): string => `
for p in $(awk '$1 == "start" || $1 == "child" { print $2 }' ${log} 2>/dev/null); do
  state=$(awk '{ print $3 }' /proc/$p/stat 2>/dev/null)
  if [ -n "$state" ] && [ "$state" != Z ]; then echo "overlap $p" >> ${log}; fi
done
echo "start $$" >> ${log}
if [ "$QUEUECTL_ATTEMPT" = 1 ]; then sleep 30 & else sleep 1 & fi
echo "child $!" >> ${log}
wait
echo "end $$" >> ${log}
`;
