{
  "targets": [
    {
      "target_name": "queuectl_spawn",
      "sources": ["native/spawn.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
