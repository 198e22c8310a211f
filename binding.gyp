{
  "targets": [
    {
      "target_name": "phasewatch_native",
      "sources": [
        "native/addon.cc",
        "native/attention.cc",
        "native/block.cc",
        "native/gemm.cc",
        "native/pool.cc",
        "native/ops.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"require('node-api-headers').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-std=gnu++17"
      ],
      "cflags": [
        "-O3",
        "-march=native",
        "-ffp-contract=fast",
        "-fno-math-errno",
        "-fno-trapping-math"
      ],
      "cflags_cc": [
        "-std=gnu++17"
      ],
      "ldflags": [
        "-pthread"
      ]
    }
  ]
}
