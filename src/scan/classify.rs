//! Which imports of a pickle are safe, dangerous or unknown.
//!
//! The lists follow what the pickle scanners of the ecosystem learned (picklescan's
//! `_safe_globals` / `_unsafe_globals`, the Hub's pickle import listing, PyTorch's
//! `weights_only` unpickler): the safe list is what a PyTorch or NumPy state dict imports to
//! rebuild tensors and arrays, the dangerous list what runs commands, code, files, network or
//! nested pickles. Everything else is unknown: reported, not treated as dangerous (a checkpoint
//! that pickles a whole `nn.Module` imports its classes, and loading those classes runs only
//! their own code).
//!
//! Names are compared as dotted paths, `module.name`: protocol 4 resolves a dotted name
//! attribute by attribute, so `torch` + `hub.load` is `torch.hub.load`. A dangerous entry
//! matches itself and everything below it (`os` covers `os.system` and `os.path.join`); a safe
//! entry matches only exactly. Python 2 module names are mapped as the unpickler maps them
//! (`__builtin__` is `builtins`).

use serde::Serialize;

/// How worrying an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// On the safe list: what state dicts import.
    Safe,
    /// On neither list: reported for a person to judge.
    Unknown,
    /// On the dangerous list, or an import the scanner cannot resolve.
    Dangerous,
}

/// Imports that rebuild tensors, arrays and plain containers, and nothing else.
const SAFE: &[&str] = &[
    "collections.OrderedDict",
    // PyTorch's tensor rebuilders (`torch/_utils.py`, `torch/_tensor.py`) and what they take.
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._tensor._rebuild_from_type_v2",
    "torch.serialization._get_layout",
    "torch.nn.parameter.Parameter",
    "torch.Size",
    "torch.device",
    "torch.Tensor",
    // Storage classes, named in the persistent ids of `data.pkl`.
    "torch.UntypedStorage",
    "torch.DoubleStorage",
    "torch.FloatStorage",
    "torch.HalfStorage",
    "torch.BFloat16Storage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ShortStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.BoolStorage",
    "torch.ComplexFloatStorage",
    "torch.ComplexDoubleStorage",
    "torch.QUInt8Storage",
    "torch.QInt8Storage",
    "torch.QInt32Storage",
    "torch.QUInt4x2Storage",
    "torch.QUInt2x4Storage",
    // dtypes, layouts, memory formats and quantization schemes pickle as module attributes.
    "torch.float64",
    "torch.float32",
    "torch.float16",
    "torch.bfloat16",
    "torch.float8_e4m3fn",
    "torch.float8_e5m2",
    "torch.int64",
    "torch.int32",
    "torch.int16",
    "torch.int8",
    "torch.uint8",
    "torch.bool",
    "torch.complex64",
    "torch.complex128",
    "torch.double",
    "torch.float",
    "torch.half",
    "torch.long",
    "torch.int",
    "torch.short",
    "torch.strided",
    "torch.sparse_coo",
    "torch.sparse_csr",
    "torch.contiguous_format",
    "torch.channels_last",
    "torch.preserve_format",
    "torch.per_tensor_affine",
    "torch.per_channel_affine",
    // NumPy arrays, scalars and random states (accelerate's `random_states_*.pkl`).
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.multiarray._reconstruct",
    "numpy._core.multiarray.scalar",
    "numpy._core.numeric._frombuffer",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor",
    // Bytes under protocol 2 are `_codecs.encode(text, "latin1")`.
    "_codecs.encode",
    "builtins.set",
    "builtins.frozenset",
    "builtins.slice",
    "builtins.bytearray",
    "builtins.complex",
    "builtins.range",
    // Protocols 0 and 1 rebuild plain objects with these; the class they get is its own import.
    "copyreg._reconstructor",
    "copyreg.__newobj__",
    "copyreg.__newobj_ex__",
];

/// Imports that run commands or code, touch files or the network, or load another pickle.
const DANGEROUS: &[&str] = &[
    // Processes and the operating system (`posix` and `nt` are what `os.system` pickles as).
    "os",
    "posix",
    "nt",
    "subprocess",
    "_posixsubprocess",
    "_winapi",
    "pty",
    "commands",
    "popen2",
    "multiprocessing",
    "_thread",
    "threading",
    "signal",
    "shutil",
    "sys",
    "platform.popen",
    // Running code.
    "builtins.eval",
    "builtins.exec",
    "builtins.execfile",
    "builtins.compile",
    "builtins.__import__",
    "builtins.getattr",
    "builtins.setattr",
    "builtins.delattr",
    "builtins.globals",
    "builtins.locals",
    "builtins.vars",
    "builtins.open",
    "builtins.file",
    "builtins.input",
    "builtins.breakpoint",
    "builtins.apply",
    "builtins.reload",
    "runpy",
    "code",
    "codeop",
    "types",
    "marshal",
    "ctypes",
    "_ctypes",
    "cffi",
    "importlib",
    "imp",
    "pkgutil",
    "zipimport",
    "pydoc",
    "pdb",
    "bdb",
    "timeit",
    "trace",
    "profile",
    "cProfile",
    "doctest",
    "venv",
    "ensurepip",
    "pip",
    "setuptools",
    "distutils",
    "idlelib",
    "lib2to3",
    "functools.partial",
    "functools.reduce",
    "operator.attrgetter",
    "operator.itemgetter",
    "operator.methodcaller",
    "_operator.attrgetter",
    "_operator.itemgetter",
    "_operator.methodcaller",
    "numpy.f2py",
    "numpy.testing._private.utils",
    "numpy.ctypeslib",
    "torch._inductor.codecache",
    "torch._dynamo",
    "torch.fx.experimental.symbolic_shapes",
    "torch.jit",
    "torch.hub",
    "torch.utils.cpp_extension",
    "torch.utils.collect_env",
    "torch.utils.bottleneck",
    "torch.utils._config_module",
    "torch.utils.data.datapipes.utils.decoder",
    "torch.ops",
    // Files.
    "io.open",
    "io.FileIO",
    "_io.open",
    "_io.FileIO",
    "pathlib.Path.write_text",
    "pathlib.Path.write_bytes",
    "pathlib.PosixPath.write_text",
    "pathlib.PosixPath.write_bytes",
    "tempfile",
    "fileinput",
    "glob",
    // Network.
    "socket",
    "_socket",
    "socketserver",
    "ssl",
    "http",
    "httplib",
    "urllib",
    "urllib2",
    "requests",
    "httpx",
    "aiohttp",
    "asyncio",
    "ftplib",
    "smtplib",
    "telnetlib",
    "xmlrpc",
    "webbrowser",
    // Nested pickles, which this scan does not follow.
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "cloudpickle",
    "joblib.load",
    "shelve",
    "numpy.load",
    "pandas.read_pickle",
    "torch.load",
    "torch.serialization.load",
    "torch.storage._load_from_bytes",
];

/// The module under which Python 3's unpickler looks up a Python 2 module name
/// (`_compat_pickle.IMPORT_MAPPING`, for the names that matter here).
fn python3_module(module: &str) -> &str {
    match module {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "httplib" => "http.client",
        "urllib2" => "urllib.request",
        "thread" => "_thread",
        other => other,
    }
}

/// Classifies the import of `name` from `module`.
pub fn classify(module: &str, name: &str) -> Severity {
    let path = format!("{}.{name}", python3_module(module));
    let original = format!("{module}.{name}");
    let under = |entry: &&str| {
        [&path, &original].iter().any(|p| {
            p.as_str() == *entry
                || p.strip_prefix(entry)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    };
    if DANGEROUS.iter().any(under) {
        Severity::Dangerous
    } else if SAFE.contains(&path.as_str()) {
        Severity::Safe
    } else if name
        .split('.')
        .any(|part| part.len() > 4 && part.starts_with("__") && part.ends_with("__"))
    {
        // Walking dunder attributes (`__globals__`, `__builtins__`, `__subclasses__`) reaches
        // any object of the process from a harmless-looking one; no state dict does it.
        Severity::Dangerous
    } else {
        Severity::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_dict_imports_are_safe() {
        for (module, name) in [
            ("collections", "OrderedDict"),
            ("torch._utils", "_rebuild_tensor_v2"),
            ("torch", "BFloat16Storage"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("_codecs", "encode"),
            ("__builtin__", "set"),
        ] {
            assert_eq!(classify(module, name), Severity::Safe, "{module}.{name}");
        }
    }

    #[test]
    fn code_execution_is_dangerous_under_every_spelling() {
        for (module, name) in [
            ("os", "system"),
            ("posix", "system"),
            ("nt", "system"),
            ("os.path", "join"),
            ("subprocess", "Popen"),
            ("builtins", "eval"),
            ("__builtin__", "eval"),
            ("builtins", "getattr"),
            ("builtins", "eval.__call__"),
            ("torch", "hub.load"),
            ("torch", "load"),
            ("runpy", "_run_code"),
            ("socket", "create_connection"),
            ("httplib", "HTTPSConnection"),
            ("webbrowser", "open"),
            ("torch._utils", "_rebuild_tensor_v2.__globals__"),
            ("collections", "__builtins__"),
        ] {
            assert_eq!(
                classify(module, name),
                Severity::Dangerous,
                "{module}.{name}"
            );
        }
    }

    #[test]
    fn the_rest_is_unknown_and_prefixes_match_whole_components() {
        for (module, name) in [
            ("__main__", "Net"),
            ("torch.nn.modules.linear", "Linear"),
            ("argparse", "Namespace"),
            ("osmosis", "run"),
            ("builtins", "evaluate"),
        ] {
            assert_eq!(classify(module, name), Severity::Unknown, "{module}.{name}");
        }
    }
}
