{
  "targets": [
    {
      "target_name": "php_zygote",
      "sources": [
        "src-native/arguments.cc",
        "src-native/binding.cc",
        "src-native/fd_registry.cc",
        "src-native/poller.cc",
        "src-native/syscalls.cc",
        "src-native/system_error.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # C++ exceptions on, on purpose: node-addon-api then turns every failed
      # Node-API call into a JavaScript exception at the function boundary.
      # With exceptions off, a failed call leaves an empty value and a pending
      # exception that the next line would use by mistake. The system calls
      # themselves never throw: they return -errno (src-native/syscalls.h).
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fexceptions"],
      "conditions": [
        ["OS != 'linux'", { "type": "none" }]
      ]
    }
  ]
}
