# What node-gyp's addon.gypi needs from a Node "nodedir", and nothing else: with
# `node-gyp rebuild --nodedir=native/gyp` the addon builds against the Node-API headers of the
# node-api-headers package (binding.gyp's include_dirs), with no Node source headers on the
# machine and no download. Node-API is ABI-stable, so one build serves every Node >= 20.
{
  'variables': {
    'node_shared%': 'false',
    'node_module_version%': '',
    'node_use_openssl%': 'false',
    'node_shared_openssl%': 'false',
    'visibility%': 'hidden',
  },
  'target_defaults': {
    'default_configuration': 'Release',
    'configurations': {
      'Release': { 'defines': ['NDEBUG'] },
      'Debug': { 'cflags': ['-g', '-O0'], 'defines': ['DEBUG', '_DEBUG'] },
    },
    'cflags': ['-fPIC', '-pthread', '-fvisibility=hidden'],
    'cflags_cc': ['-fno-rtti', '-fno-exceptions', '-std=gnu++17'],
    'ldflags': ['-pthread'],
  },
}
