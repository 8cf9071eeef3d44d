//! A pickle opcode walker: reads a pickle stream (protocols 0 to 5) one opcode at a time, as
//! CPython's `pickletools.genops` does, and lists every global the stream would import when
//! unpickled, without unpickling, importing or calling anything.
//!
//! The opcode table and argument encodings are those of CPython's `Lib/pickletools.py`. Beside
//! decoding, the walker keeps a model of the unpickler's stack and memo in which only strings
//! (up to [`MAX_STRING`] bytes) and imported globals are values, everything else a placeholder.
//! That is what resolves `STACK_GLOBAL` (its module and name are the two strings below it on
//! the stack, often fetched from the memo with `BINGET`) and what tells which imported global
//! is then called (`REDUCE`, `NEWOBJ`, `NEWOBJ_EX`, `OBJ`, `INST`). An opcode the real
//! unpickler would refuse (stack underflow, a missing `MARK`, an unknown memo key, a truncated
//! argument) ends the walk with a [`PickleError`] at the opcode's byte offset; the globals found
//! before it are kept, because an unpickler runs every opcode before the broken one.
//!
//! Memory is bounded by [`Limits`]: strings longer than [`MAX_STRING`] are skipped, not kept,
//! and the stack, the memo and the list of distinct globals have caps. Large arguments (the
//! bytes of an array) are read through and dropped, so a multi-gigabyte pickle streams.

use std::collections::HashMap;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

/// The longest string the walker keeps (a module or a name); longer ones are read and dropped.
pub const MAX_STRING: usize = 1024;

/// The highest pickle protocol CPython knows (`pickle.HIGHEST_PROTOCOL`).
pub const HIGHEST_PROTOCOL: u8 = 5;

/// Caps on what the walker keeps in memory while reading one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Distinct globals listed; past it [`Walk::globals_truncated`] is set.
    pub max_globals: usize,
    /// Entries on the modelled stack; a deeper stream is an error (no model needs it).
    pub max_stack: usize,
    /// Memo entries kept; past it new entries are forgotten and read back as placeholders.
    pub max_memo: usize,
    /// Bytes of strings kept over the whole stream; past it strings become placeholders.
    pub max_string_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // A real state dict imports a handful of distinct globals and memoizes a few entries
        // per tensor; these leave room for the largest checkpoints while bounding an
        // adversarial stream to tens of megabytes.
        Limits {
            max_globals: 10_000,
            max_stack: 1 << 20,
            max_memo: 1 << 20,
            max_string_bytes: 64 << 20,
        }
    }
}

/// How many pickles one stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pickles {
    /// One pickle; what follows its `STOP` is not read (`pickle.load` reads no further).
    One,
    /// Pickles one after another while the next byte is a `PROTO` opcode (`\x80`), until the end
    /// of the stream: a second pickle appended to a file runs when a loader calls `load` twice.
    Consecutive,
    /// Exactly this many pickles, then stop: PyTorch's legacy (pre-zip) format is five pickles
    /// followed by raw tensor bytes that must not be read as opcodes.
    Exactly(u32),
}

/// One global the stream imports (`GLOBAL`, `STACK_GLOBAL`, `INST` or an `EXT` code), listed
/// once per distinct module and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// The module, as written in the stream (`posix`, `__builtin__`, `torch._utils`).
    pub module: String,
    /// The attribute, possibly dotted (protocol 4 resolves `Outer.Inner`).
    pub name: String,
    /// The byte offset of the first opcode that imports it, from the start of the stream.
    pub offset: u64,
    /// That opcode's name (`GLOBAL`, `STACK_GLOBAL`, `INST`, `EXT1`, `EXT2`, `EXT4`).
    pub opcode: &'static str,
    /// How many opcodes import it.
    pub occurrences: u64,
    /// Whether the stream calls it (`REDUCE`, `NEWOBJ`, `NEWOBJ_EX`, `OBJ`, `INST`).
    pub called: bool,
    /// False when the walker cannot tell what is imported: a `STACK_GLOBAL` whose module or
    /// name is not a string constant (built at run time, or longer than [`MAX_STRING`]), or an
    /// `EXT` code (the process's `copyreg` extension registry decides). `module` and `name`
    /// then hold `?` or what is known.
    pub resolved: bool,
}

/// Why a stream cannot be unpickled, at [`PickleError::offset`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleProblem {
    /// The stream ends before `STOP`.
    #[error("the stream ends before the STOP opcode")]
    MissingStop,
    /// The stream ends inside an opcode's argument.
    #[error("the stream ends inside the argument of {opcode}")]
    Truncated {
        /// The opcode.
        opcode: &'static str,
    },
    /// A byte that is no opcode.
    #[error("0x{0:02x} is not a pickle opcode")]
    UnknownOpcode(u8),
    /// `PROTO` names a protocol newer than [`HIGHEST_PROTOCOL`].
    #[error("unsupported pickle protocol {0}")]
    Protocol(u8),
    /// An opcode needs more values than the stack holds above the last `MARK`.
    #[error("{opcode} on an empty stack")]
    StackUnderflow {
        /// The opcode.
        opcode: &'static str,
    },
    /// An opcode that pops to a `MARK` finds none.
    #[error("{opcode} without a MARK")]
    NoMark {
        /// The opcode.
        opcode: &'static str,
    },
    /// A memo read of a key never stored.
    #[error("{opcode} reads memo key {key}, which was never stored")]
    MemoMissing {
        /// The opcode.
        opcode: &'static str,
        /// The key.
        key: u64,
    },
    /// An argument the unpickler refuses.
    #[error("{opcode}: {reason}")]
    BadArgument {
        /// The opcode.
        opcode: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The stack grows past [`Limits::max_stack`].
    #[error("the stack grows past {}", crate::report::count(*.0, "entry"))]
    TooDeep(usize),
    /// The bytes could not be read (a damaged compressed archive member).
    #[error("unreadable: {0}")]
    Unreadable(String),
}

/// A stream the unpickler would refuse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {problem}")]
pub struct PickleError {
    /// The byte offset of the opcode at fault (or of the end of the stream).
    pub offset: u64,
    /// What is wrong.
    pub problem: PickleProblem,
}

/// What a walk found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// The distinct globals imported, in the order of their first import.
    pub globals: Vec<Global>,
    /// More distinct globals than [`Limits::max_globals`]: the rest are not listed.
    pub globals_truncated: bool,
    /// Pickles read to their `STOP`.
    pub pickles: u32,
    /// The highest protocol a `PROTO` opcode announced.
    pub protocol: Option<u8>,
    /// Bytes read.
    pub bytes: u64,
    /// With [`Pickles::Consecutive`]: bytes follow the last `STOP` that do not start a pickle.
    pub trailing_data: bool,
    /// Why the walk stopped early; the globals above were found before it.
    pub error: Option<PickleError>,
}

/// Walks the pickle opcodes of `reader`. `Err` only for an I/O failure of the reader itself;
/// a malformed or truncated stream is [`Walk::error`].
pub fn walk<R: BufRead>(reader: R, pickles: Pickles, limits: &Limits) -> io::Result<Walk> {
    let mut walker = Walker {
        input: Input {
            inner: reader,
            pos: 0,
        },
        limits: *limits,
        stack: Vec::new(),
        memo: HashMap::new(),
        memo_len: 0,
        memo_dropped: false,
        string_bytes: 0,
        index: HashMap::new(),
        walk: Walk::default(),
    };
    loop {
        match walker.pickle() {
            Ok(()) => walker.walk.pickles += 1,
            Err(Fail::Io(error)) => return Err(error),
            Err(Fail::Pickle(error)) => {
                walker.walk.error = Some(error);
                break;
            }
        }
        let more = match pickles {
            Pickles::One => false,
            Pickles::Exactly(n) => walker.walk.pickles < n,
            Pickles::Consecutive => match walker.input.peek()? {
                None => false,
                Some(0x80) => true,
                Some(_) => {
                    walker.walk.trailing_data = true;
                    false
                }
            },
        };
        if !more {
            break;
        }
        // Each `pickle.load` starts with a fresh unpickler: an empty stack and memo.
        walker.stack.clear();
        walker.memo.clear();
        walker.memo_len = 0;
        walker.memo_dropped = false;
    }
    walker.walk.bytes = walker.input.pos;
    Ok(walker.walk)
}

/// A modelled stack or memo value: only what resolving imports needs.
#[derive(Debug, Clone)]
enum Value {
    Mark,
    Str(Rc<str>),
    /// A string the walker did not keep (too long, or past the string budget).
    DroppedStr,
    /// An imported global, by index into [`Walk::globals`] (`None` past the cap).
    Global(Option<usize>),
    Other,
}

/// Why one pickle stopped.
enum Fail {
    Io(io::Error),
    Pickle(PickleError),
}

/// A reader that counts the bytes it has consumed.
struct Input<R> {
    inner: R,
    pos: u64,
}

impl<R: BufRead> Input<R> {
    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.inner.fill_buf()?.first().copied())
    }

    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut buf = [0; N];
        self.inner.read_exact(&mut buf)?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> io::Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn i32(&mut self) -> io::Result<i32> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads and drops `n` bytes, streaming (an argument can be gigabytes of array data).
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let copied = io::copy(&mut (&mut self.inner).take(n), &mut io::sink())?;
        self.pos += copied;
        if copied < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    /// `n` bytes, kept when at most [`MAX_STRING`] long, otherwise read and dropped (`None`).
    fn bytes(&mut self, n: u64) -> io::Result<Option<Vec<u8>>> {
        if n > MAX_STRING as u64 {
            self.skip(n)?;
            return Ok(None);
        }
        let mut buf = vec![0; n as usize];
        self.inner.read_exact(&mut buf)?;
        self.pos += n;
        Ok(Some(buf))
    }

    /// A `\n`-terminated line without its `\n`: its first [`MAX_STRING`] bytes, and whether it
    /// was longer (the rest is read and dropped, so a line never grows memory).
    fn line(&mut self) -> io::Result<(Vec<u8>, bool)> {
        let mut kept = Vec::new();
        let mut longer = false;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let newline = buf.iter().position(|&b| b == b'\n');
            let chunk = &buf[..newline.unwrap_or(buf.len())];
            let room = MAX_STRING - kept.len();
            if chunk.len() > room {
                longer = true;
            }
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = newline.map_or(buf.len(), |i| i + 1);
            self.inner.consume(used);
            self.pos += used as u64;
            if newline.is_some() {
                return Ok((kept, longer));
            }
        }
    }
}

struct Walker<R> {
    input: Input<R>,
    limits: Limits,
    stack: Vec<Value>,
    memo: HashMap<u64, Value>,
    /// `len(memo)` as the unpickler counts it (what `MEMOIZE` stores under).
    memo_len: u64,
    /// Entries were forgotten past the cap: a missing key is then no proof of a broken stream.
    memo_dropped: bool,
    string_bytes: u64,
    /// `(module, name)` → index into `walk.globals`, to list each global once.
    index: HashMap<(String, String), usize>,
    walk: Walk,
}

impl<R: BufRead> Walker<R> {
    /// Reads one pickle up to and including its `STOP`.
    fn pickle(&mut self) -> Result<(), Fail> {
        loop {
            let offset = self.input.pos;
            let opcode = match self.input.peek() {
                Ok(Some(byte)) => byte,
                Ok(None) => return Err(fail(offset, PickleProblem::MissingStop)),
                Err(error) => return Err(Self::io_fail(offset, "", error)),
            };
            self.input.inner.consume(1);
            self.input.pos += 1;
            let name = opcode_name(opcode)
                .ok_or_else(|| fail(offset, PickleProblem::UnknownOpcode(opcode)))?;
            match self.op(opcode, name, offset) {
                Ok(Flow::Next) => {}
                Ok(Flow::Stop) => return Ok(()),
                Err(Step::Problem(problem)) => return Err(fail(offset, problem)),
                Err(Step::Io(error)) => return Err(Self::io_fail(offset, name, error)),
            }
        }
    }

    /// An I/O error while reading the opcode at `offset`: the end of the stream and damaged
    /// data are properties of the stream; anything else is the reader's failure.
    fn io_fail(offset: u64, opcode: &'static str, error: io::Error) -> Fail {
        match error.kind() {
            io::ErrorKind::UnexpectedEof if opcode.is_empty() => {
                fail(offset, PickleProblem::MissingStop)
            }
            io::ErrorKind::UnexpectedEof => fail(offset, PickleProblem::Truncated { opcode }),
            io::ErrorKind::InvalidData => {
                fail(offset, PickleProblem::Unreadable(error.to_string()))
            }
            _ => Fail::Io(error),
        }
    }

    /// Decodes one opcode's argument and applies its effect on the modelled stack and memo.
    fn op(&mut self, opcode: u8, name: &'static str, offset: u64) -> Result<Flow, Step> {
        match opcode {
            // PROTO: a protocol the unpickler does not know is refused.
            0x80 => {
                let protocol = self.input.u8()?;
                if protocol > HIGHEST_PROTOCOL {
                    return Err(Step::Problem(PickleProblem::Protocol(protocol)));
                }
                self.walk.protocol = self.walk.protocol.max(Some(protocol));
            }
            // FRAME: a length hint for buffering; the opcodes inside are read as usual.
            0x95 => {
                self.input.u64()?;
            }
            b'.' => {
                self.pop(name)?;
                return Ok(Flow::Stop);
            }

            // Numbers, constants and bytes: nothing an import could be made of.
            b'N' | 0x88 | 0x89 | b']' | b')' | b'}' | 0x8f | 0x97 => self.push(Value::Other)?,
            // Numbers in decimal, and PERSID's id for the loader's own `persistent_load`
            // (PyTorch's storages).
            b'I' | b'L' | b'F' | b'P' => {
                self.input.line()?;
                self.push(Value::Other)?;
            }
            b'K' => {
                self.input.u8()?;
                self.push(Value::Other)?;
            }
            b'M' => {
                self.input.u16()?;
                self.push(Value::Other)?;
            }
            b'J' => {
                self.input.i32()?;
                self.push(Value::Other)?;
            }
            b'G' => {
                self.input.u64()?;
                self.push(Value::Other)?;
            }
            0x8a | b'C' => {
                let n = self.input.u8()?;
                self.input.skip(u64::from(n))?;
                self.push(Value::Other)?;
            }
            0x8b => {
                let n = self.signed_length(name)?;
                self.input.skip(n)?;
                self.push(Value::Other)?;
            }
            b'B' => {
                let n = self.input.u32()?;
                self.input.skip(u64::from(n))?;
                self.push(Value::Other)?;
            }
            0x8e | 0x96 => {
                let n = self.input.u64()?;
                self.input.skip(n)?;
                self.push(Value::Other)?;
            }
            // READONLY_BUFFER marks the top buffer read-only.
            0x98 => {
                self.top(name)?;
            }

            // Strings: the candidates for a STACK_GLOBAL's module and name.
            b'S' => {
                let (line, longer) = self.input.line()?;
                let value = if longer {
                    Value::DroppedStr
                } else {
                    let body = unquote(&line).ok_or_else(|| {
                        bad(name, "the argument must be quoted with ' or \"".to_owned())
                    })?;
                    self.string(&String::from_utf8_lossy(&escape_decode(body)))
                };
                self.push(value)?;
            }
            b'V' => {
                let (line, longer) = self.input.line()?;
                let value = if longer {
                    Value::DroppedStr
                } else {
                    self.string(&raw_unicode_escape_decode(&line))
                };
                self.push(value)?;
            }
            b'T' => {
                let n = self.signed_length(name)?;
                let bytes = self.input.bytes(n)?;
                self.push_bytes_string(bytes, false, name)?;
            }
            b'U' => {
                let n = self.input.u8()?;
                let bytes = self.input.bytes(u64::from(n))?;
                self.push_bytes_string(bytes, false, name)?;
            }
            0x8c => {
                let n = self.input.u8()?;
                let bytes = self.input.bytes(u64::from(n))?;
                self.push_bytes_string(bytes, true, name)?;
            }
            b'X' => {
                let n = self.input.u32()?;
                let bytes = self.input.bytes(u64::from(n))?;
                self.push_bytes_string(bytes, true, name)?;
            }
            0x8d => {
                let n = self.input.u64()?;
                let bytes = self.input.bytes(n)?;
                self.push_bytes_string(bytes, true, name)?;
            }

            // Containers.
            // APPEND, and BUILD (which sets an object's state: its `__setstate__`, not an
            // import): one value into the object below it.
            b'a' | b'b' => {
                self.pop(name)?;
                self.top(name)?;
            }
            b'e' | 0x90 => {
                self.pop_mark(name)?;
                self.top(name)?;
            }
            b's' => {
                self.pop(name)?;
                self.pop(name)?;
                self.top(name)?;
            }
            b'u' => {
                let items = self.pop_mark(name)?;
                if items.len() % 2 != 0 {
                    return Err(bad(name, "an odd number of items".to_owned()));
                }
                self.top(name)?;
            }
            b'd' => {
                let items = self.pop_mark(name)?;
                if items.len() % 2 != 0 {
                    return Err(bad(name, "an odd number of items".to_owned()));
                }
                self.push(Value::Other)?;
            }
            b'l' | b't' | 0x91 => {
                self.pop_mark(name)?;
                self.push(Value::Other)?;
            }
            0x85..=0x87 => {
                for _ in 0..(opcode - 0x84) {
                    self.pop(name)?;
                }
                self.push(Value::Other)?;
            }

            // Stack manipulation.
            b'0' => {
                // POP removes the top item, a MARK included (CPython's `load_pop`).
                if self.stack.pop().is_none() {
                    return Err(Step::Problem(PickleProblem::StackUnderflow {
                        opcode: name,
                    }));
                }
            }
            b'2' => {
                let top = self.top(name)?.clone();
                self.push(top)?;
            }
            b'(' => self.push(Value::Mark)?,
            b'1' => {
                self.pop_mark(name)?;
            }

            // The memo.
            b'g' => {
                let key = self.decimal_key(name)?;
                self.get(key, name)?;
            }
            b'h' => {
                let key = self.input.u8()?;
                self.get(u64::from(key), name)?;
            }
            b'j' => {
                let key = self.input.u32()?;
                self.get(u64::from(key), name)?;
            }
            b'p' => {
                let key = self.decimal_key(name)?;
                self.put(key, name)?;
            }
            b'q' => {
                let key = self.input.u8()?;
                self.put(u64::from(key), name)?;
            }
            b'r' => {
                let key = self.input.u32()?;
                self.put(u64::from(key), name)?;
            }
            0x94 => {
                let key = self.memo_len;
                self.put(key, name)?;
            }

            // Imports.
            b'c' => {
                let (module, module_longer) = self.input.line()?;
                let (attribute, name_longer) = self.input.line()?;
                let value = self.import_line(
                    &module,
                    &attribute,
                    module_longer || name_longer,
                    offset,
                    name,
                )?;
                self.push(value)?;
            }
            0x93 => {
                let attribute = self.pop(name)?;
                let module = self.pop(name)?;
                let value = match (&module, &attribute) {
                    (Value::Str(module), Value::Str(attribute)) => {
                        self.global(module, attribute, true, offset, name)
                    }
                    _ => self.global(
                        &described(&module),
                        &described(&attribute),
                        false,
                        offset,
                        name,
                    ),
                };
                self.push(value)?;
            }
            b'i' => {
                let (module, module_longer) = self.input.line()?;
                let (attribute, name_longer) = self.input.line()?;
                let class = self.import_line(
                    &module,
                    &attribute,
                    module_longer || name_longer,
                    offset,
                    name,
                )?;
                self.called(&class);
                self.pop_mark(name)?;
                self.push(Value::Other)?;
            }
            0x82 => {
                let code = self.input.u8()?;
                self.extension(u64::from(code), offset, name)?;
            }
            0x83 => {
                let code = self.input.u16()?;
                self.extension(u64::from(code), offset, name)?;
            }
            0x84 => {
                let code = self.input.i32()?;
                let code = u64::try_from(code).map_err(|_| bad(name, format!("code {code}")))?;
                self.extension(code, offset, name)?;
            }

            // Calls.
            // REDUCE calls a callable with a tuple, NEWOBJ a class's `__new__`.
            b'R' | 0x81 => {
                self.pop(name)?;
                let callable = self.pop(name)?;
                self.called(&callable);
                self.push(Value::Other)?;
            }
            0x92 => {
                self.pop(name)?;
                self.pop(name)?;
                let class = self.pop(name)?;
                self.called(&class);
                self.push(Value::Other)?;
            }
            b'o' => {
                let items = self.pop_mark(name)?;
                let Some(class) = items.first() else {
                    return Err(bad(name, "no class between MARK and OBJ".to_owned()));
                };
                self.called(class);
                self.push(Value::Other)?;
            }

            b'Q' => {
                self.pop(name)?;
                self.push(Value::Other)?;
            }

            _ => return Err(Step::Problem(PickleProblem::UnknownOpcode(opcode))),
        }
        Ok(Flow::Next)
    }

    fn push(&mut self, value: Value) -> Result<(), Step> {
        if self.stack.len() >= self.limits.max_stack {
            return Err(Step::Problem(PickleProblem::TooDeep(self.limits.max_stack)));
        }
        self.stack.push(value);
        Ok(())
    }

    /// Pops a value; a MARK on top is a fence the unpickler does not pop through.
    fn pop(&mut self, opcode: &'static str) -> Result<Value, Step> {
        match self.stack.last() {
            Some(Value::Mark) | None => {
                Err(Step::Problem(PickleProblem::StackUnderflow { opcode }))
            }
            Some(_) => Ok(self.stack.pop().unwrap_or(Value::Other)),
        }
    }

    fn top(&self, opcode: &'static str) -> Result<&Value, Step> {
        match self.stack.last() {
            Some(Value::Mark) | None => {
                Err(Step::Problem(PickleProblem::StackUnderflow { opcode }))
            }
            Some(value) => Ok(value),
        }
    }

    /// Pops everything above the last MARK, and the MARK.
    fn pop_mark(&mut self, opcode: &'static str) -> Result<Vec<Value>, Step> {
        let mark = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or(Step::Problem(PickleProblem::NoMark { opcode }))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn get(&mut self, key: u64, opcode: &'static str) -> Result<(), Step> {
        let value = match self.memo.get(&key) {
            Some(value) => value.clone(),
            None if self.memo_dropped => Value::Other,
            None => return Err(Step::Problem(PickleProblem::MemoMissing { opcode, key })),
        };
        self.push(value)
    }

    fn put(&mut self, key: u64, opcode: &'static str) -> Result<(), Step> {
        let value = self.top(opcode)?.clone();
        if !self.memo.contains_key(&key) {
            self.memo_len += 1;
            if self.memo.len() >= self.limits.max_memo {
                self.memo_dropped = true;
                return Ok(());
            }
        }
        self.memo.insert(key, value);
        Ok(())
    }

    /// A PUT or GET key written in decimal (protocol 0).
    fn decimal_key(&mut self, opcode: &'static str) -> Result<u64, Step> {
        let (line, _) = self.input.line()?;
        let text = String::from_utf8_lossy(&line);
        text.trim()
            .parse::<u64>()
            .map_err(|_| bad(opcode, format!("{text:?} is not a memo key")))
    }

    /// A 4-byte signed length (`LONG4`, `BINSTRING`): negative is refused.
    fn signed_length(&mut self, opcode: &'static str) -> Result<u64, Step> {
        let n = self.input.i32()?;
        u64::try_from(n).map_err(|_| bad(opcode, format!("negative length {n}")))
    }

    /// A string value, kept while the budget of string bytes lasts.
    fn string(&mut self, text: &str) -> Value {
        let len = text.len() as u64;
        if self.string_bytes + len > self.limits.max_string_bytes {
            return Value::DroppedStr;
        }
        self.string_bytes += len;
        Value::Str(Rc::from(text))
    }

    /// Pushes a length-prefixed string: UTF-8 for the `*UNICODE` opcodes (invalid UTF-8 is
    /// refused, as CPython does), 8-bit for `*STRING` (decoded as Latin-1, a superset of the
    /// ASCII the unpickler expects).
    fn push_bytes_string(
        &mut self,
        bytes: Option<Vec<u8>>,
        utf8: bool,
        opcode: &'static str,
    ) -> Result<(), Step> {
        let value = match bytes {
            None => Value::DroppedStr,
            Some(bytes) if utf8 => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| bad(opcode, "the string is not UTF-8".to_owned()))?;
                self.string(&text)
            }
            Some(bytes) => {
                let text: String = bytes.iter().map(|&b| char::from(b)).collect();
                self.string(&text)
            }
        };
        self.push(value)
    }

    /// The import of `GLOBAL` or `INST`: two lines, UTF-8.
    fn import_line(
        &mut self,
        module: &[u8],
        attribute: &[u8],
        longer: bool,
        offset: u64,
        opcode: &'static str,
    ) -> Result<Value, Step> {
        if longer {
            let module = String::from_utf8_lossy(module);
            let attribute = String::from_utf8_lossy(attribute);
            return Ok(self.global(&module, &attribute, false, offset, opcode));
        }
        let module = std::str::from_utf8(module)
            .map_err(|_| bad(opcode, "the module is not UTF-8".to_owned()))?;
        let attribute = std::str::from_utf8(attribute)
            .map_err(|_| bad(opcode, "the name is not UTF-8".to_owned()))?;
        Ok(self.global(module, attribute, true, offset, opcode))
    }

    fn extension(&mut self, code: u64, offset: u64, opcode: &'static str) -> Result<(), Step> {
        if code == 0 {
            return Err(bad(opcode, "extension code 0".to_owned()));
        }
        let value = self.global(
            "copyreg",
            &format!("<extension {code}>"),
            false,
            offset,
            opcode,
        );
        self.push(value)
    }

    /// Lists an import (once per module and name) and returns its stack value.
    fn global(
        &mut self,
        module: &str,
        name: &str,
        resolved: bool,
        offset: u64,
        opcode: &'static str,
    ) -> Value {
        let key = (module.to_owned(), name.to_owned());
        if let Some(&i) = self.index.get(&key) {
            let global = &mut self.walk.globals[i];
            global.occurrences += 1;
            global.resolved &= resolved;
            return Value::Global(Some(i));
        }
        if self.walk.globals.len() >= self.limits.max_globals {
            self.walk.globals_truncated = true;
            return Value::Global(None);
        }
        let i = self.walk.globals.len();
        self.walk.globals.push(Global {
            module: key.0.clone(),
            name: key.1.clone(),
            offset,
            opcode,
            occurrences: 1,
            called: false,
            resolved,
        });
        self.index.insert(key, i);
        Value::Global(Some(i))
    }

    fn called(&mut self, callable: &Value) {
        if let Value::Global(Some(i)) = callable {
            self.walk.globals[*i].called = true;
        }
    }
}

/// What happens after an opcode.
enum Flow {
    Next,
    Stop,
}

/// Why an opcode failed, before its offset is known to the caller.
enum Step {
    Problem(PickleProblem),
    Io(io::Error),
}

impl From<io::Error> for Step {
    fn from(error: io::Error) -> Self {
        Step::Io(error)
    }
}

fn fail(offset: u64, problem: PickleProblem) -> Fail {
    Fail::Pickle(PickleError { offset, problem })
}

fn bad(opcode: &'static str, reason: String) -> Step {
    Step::Problem(PickleProblem::BadArgument { opcode, reason })
}

/// A STACK_GLOBAL operand that is not a kept string, as listed (`?` when unknown).
fn described(value: &Value) -> String {
    match value {
        Value::Str(text) => text.to_string(),
        _ => "?".to_owned(),
    }
}

/// The body of a protocol-0 `STRING` argument: it must be quoted, `'…'` or `"…"`.
fn unquote(line: &[u8]) -> Option<&[u8]> {
    match line {
        [q, body @ .., last] if q == last && (*q == b'\'' || *q == b'"') => Some(body),
        _ => None,
    }
}

/// Python's `codecs.escape_decode`, what the unpickler applies to a `STRING` argument.
fn escape_decode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        i += 1;
        if b != b'\\' || i == body.len() {
            out.push(b);
            continue;
        }
        let e = body[i];
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(e - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            b'x' => {
                let hex = body
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(value) = hex {
                    out.push(value);
                    i += 2;
                } else {
                    out.extend_from_slice(b"\\x");
                }
            }
            _ => out.extend_from_slice(&[b'\\', e]),
        }
    }
    out
}

/// Python's `raw-unicode-escape` decoding of a protocol-0 `UNICODE` argument: `\uXXXX` and
/// `\UXXXXXXXX` are code points, every other byte is Latin-1.
fn raw_unicode_escape_decode(line: &[u8]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == b'\\' {
            let digits = match line.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => 0,
            };
            let code = (digits > 0)
                .then(|| line.get(i + 2..i + 2 + digits))
                .flatten()
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .and_then(char::from_u32);
            if let Some(c) = code {
                out.push(c);
                i += 2 + digits;
                continue;
            }
        }
        out.push(char::from(b));
        i += 1;
    }
    out
}

/// The name of each opcode of protocols 0 to 5 (`pickletools.opcodes`), `None` for a byte
/// that is none.
pub fn opcode_name(opcode: u8) -> Option<&'static str> {
    Some(match opcode {
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'M' => "BININT2",
        b'L' => "LONG",
        0x8a => "LONG1",
        0x8b => "LONG4",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x8e => "BINBYTES8",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        b'N' => "NONE",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        b'V' => "UNICODE",
        0x8c => "SHORT_BINUNICODE",
        b'X' => "BINUNICODE",
        0x8d => "BINUNICODE8",
        b'F' => "FLOAT",
        b'G' => "BINFLOAT",
        b']' => "EMPTY_LIST",
        b'a' => "APPEND",
        b'e' => "APPENDS",
        b'l' => "LIST",
        b')' => "EMPTY_TUPLE",
        b't' => "TUPLE",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        b'}' => "EMPTY_DICT",
        b'd' => "DICT",
        b's' => "SETITEM",
        b'u' => "SETITEMS",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        b'0' => "POP",
        b'2' => "DUP",
        b'(' => "MARK",
        b'1' => "POP_MARK",
        b'g' => "GET",
        b'h' => "BINGET",
        b'j' => "LONG_BINGET",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        0x94 => "MEMOIZE",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        b'c' => "GLOBAL",
        0x93 => "STACK_GLOBAL",
        b'R' => "REDUCE",
        b'b' => "BUILD",
        b'i' => "INST",
        b'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        0x80 => "PROTO",
        b'.' => "STOP",
        0x95 => "FRAME",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> Walk {
        walk(bytes, Pickles::One, &Limits::default()).unwrap()
    }

    fn imports(walk: &Walk) -> Vec<(String, String, u64)> {
        walk.globals
            .iter()
            .map(|g| (g.module.clone(), g.name.clone(), g.offset))
            .collect()
    }

    fn short_unicode(text: &str) -> Vec<u8> {
        let mut out = vec![0x8c, text.len() as u8];
        out.extend_from_slice(text.as_bytes());
        out
    }

    #[test]
    fn global_of_protocol_0_with_its_offset() {
        let walk = run(b"cos\nsystem\n(S'echo'\ntR.");
        assert_eq!(walk.error, None);
        assert_eq!(imports(&walk), [("os".into(), "system".into(), 0)]);
        assert!(walk.globals[0].called);
        assert_eq!(walk.pickles, 1);
    }

    #[test]
    fn proto_and_frame_of_protocol_4_are_read_through() {
        // PROTO 4, FRAME of 8 bytes, then STACK_GLOBAL of two short strings.
        let mut bytes = vec![0x80, 4, 0x95];
        bytes.extend_from_slice(&20u64.to_le_bytes());
        let frame_start = bytes.len() as u64;
        bytes.extend(short_unicode("builtins"));
        bytes.push(0x94);
        bytes.extend(short_unicode("eval"));
        bytes.push(0x94);
        let stack_global = bytes.len() as u64;
        bytes.extend_from_slice(b"\x93)R.");
        let walk = run(&bytes);
        assert_eq!(walk.error, None);
        assert_eq!(walk.protocol, Some(4));
        assert_eq!(frame_start, 11);
        assert_eq!(
            imports(&walk),
            [("builtins".into(), "eval".into(), stack_global)]
        );
        assert!(walk.globals[0].called);
    }

    #[test]
    fn a_protocol_newer_than_5_is_refused() {
        let walk = run(b"\x80\x06N.");
        assert_eq!(
            walk.error,
            Some(PickleError {
                offset: 0,
                problem: PickleProblem::Protocol(6)
            })
        );
    }

    #[test]
    fn long_binput_and_long_binget_resolve_memoized_strings() {
        let mut bytes = vec![0x80, 2];
        bytes.extend(short_unicode("subprocess"));
        bytes.push(b'r');
        bytes.extend_from_slice(&70_000u32.to_le_bytes());
        bytes.push(b'0'); // POP: the string now lives only in the memo
        bytes.push(b'j');
        bytes.extend_from_slice(&70_000u32.to_le_bytes());
        bytes.extend(short_unicode("run"));
        let offset = bytes.len() as u64;
        bytes.extend_from_slice(b"\x93.");
        let walk = run(&bytes);
        assert_eq!(walk.error, None);
        assert_eq!(
            imports(&walk),
            [("subprocess".into(), "run".into(), offset)]
        );
        assert!(!walk.globals[0].called);
    }

    #[test]
    fn protocol_0_memo_and_strings() {
        // PUT/GET in decimal, STRING with escapes, UNICODE with a \u escape.
        let walk = run(b"S'o\\x73'\np1\n0g1\nVsy\\u0073tem\n\x93.");
        assert_eq!(walk.error, None);
        assert_eq!(imports(&walk), [("os".into(), "system".into(), 29)]);
    }

    #[test]
    fn a_global_pushed_through_the_memo_is_noted_as_called() {
        // GLOBAL, BINPUT, POP, BINGET, EMPTY_TUPLE, REDUCE.
        let walk = run(b"cbuiltins\nexec\nq\x050h\x05)R.");
        assert_eq!(walk.error, None);
        assert!(walk.globals[0].called);
    }

    #[test]
    fn inst_obj_and_newobj_are_calls() {
        let walk = run(b"((ios\nsystem\n(cposix\nsystem\noc__main__\nX\n)\x81l.");
        assert_eq!(walk.error, None, "{walk:?}");
        assert_eq!(walk.globals.len(), 3);
        assert!(walk.globals.iter().all(|g| g.called), "{walk:?}");
        assert_eq!(walk.globals[0].opcode, "INST");
    }

    #[test]
    fn a_stack_global_of_computed_operands_is_unresolved() {
        // The module is the result of a call, not a string constant.
        let walk = run(b"c_codecs\nencode\n)R\x8c\x06system\x93.");
        assert_eq!(walk.error, None);
        let last = walk.globals.last().unwrap();
        assert_eq!((last.module.as_str(), last.name.as_str()), ("?", "system"));
        assert!(!last.resolved);
    }

    #[test]
    fn repeated_imports_are_listed_once() {
        let walk = run(b"(cos\nsystem\ncos\nsystem\nl.");
        assert_eq!(walk.globals.len(), 1);
        assert_eq!(walk.globals[0].occurrences, 2);
        assert_eq!(walk.globals[0].offset, 1);
    }

    #[test]
    fn truncation_is_an_error_at_the_opcode() {
        let walk = run(b"\x80\x04\x8c\x0bcollect");
        assert_eq!(
            walk.error,
            Some(PickleError {
                offset: 2,
                problem: PickleProblem::Truncated {
                    opcode: "SHORT_BINUNICODE"
                }
            })
        );
        let walk = run(b"\x80\x04N");
        assert_eq!(
            walk.error,
            Some(PickleError {
                offset: 3,
                problem: PickleProblem::MissingStop
            })
        );
        // A huge declared length is read through, never allocated.
        let mut bytes = vec![0x8e];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            run(&bytes).error.unwrap().problem,
            PickleProblem::Truncated {
                opcode: "BINBYTES8"
            }
        ));
    }

    #[test]
    fn what_the_unpickler_refuses_is_an_error() {
        let cases: &[(&[u8], PickleProblem)] = &[
            (b"\xff", PickleProblem::UnknownOpcode(0xff)),
            (b"R", PickleProblem::StackUnderflow { opcode: "REDUCE" }),
            (b"N(R", PickleProblem::StackUnderflow { opcode: "REDUCE" }),
            (b"Ne", PickleProblem::NoMark { opcode: "APPENDS" }),
            (
                b"h\x03",
                PickleProblem::MemoMissing {
                    opcode: "BINGET",
                    key: 3,
                },
            ),
            (
                b"(o",
                PickleProblem::BadArgument {
                    opcode: "OBJ",
                    reason: "no class between MARK and OBJ".into(),
                },
            ),
            (
                b"S'abc\n",
                PickleProblem::BadArgument {
                    opcode: "STRING",
                    reason: "the argument must be quoted with ' or \"".into(),
                },
            ),
        ];
        for (bytes, problem) in cases {
            let walk = run(bytes);
            assert_eq!(
                walk.error.as_ref().map(|e| &e.problem),
                Some(problem),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn findings_before_an_error_are_kept() {
        let walk = run(b"cos\nsystem\n)R\xff");
        assert_eq!(walk.globals.len(), 1);
        assert!(walk.globals[0].called);
        assert_eq!(walk.error.unwrap().offset, 13);
    }

    #[test]
    fn consecutive_pickles_and_trailing_data() {
        let bytes = b"\x80\x02N.\x80\x02cos\nsystem\n.garbage";
        let walk = walk(&bytes[..], Pickles::Consecutive, &Limits::default()).unwrap();
        assert_eq!(walk.pickles, 2);
        assert!(walk.trailing_data);
        assert_eq!(imports(&walk), [("os".into(), "system".into(), 6)]);
        let walk = super::walk(&bytes[..], Pickles::One, &Limits::default()).unwrap();
        assert_eq!(walk.pickles, 1);
        assert!(walk.globals.is_empty());
        let walk = super::walk(
            &b"N.\x80\xffN."[..],
            Pickles::Exactly(1),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(walk.error, None);
    }

    #[test]
    fn long_strings_are_dropped_and_make_a_stack_global_unresolved() {
        let mut bytes = vec![b'X'];
        bytes.extend_from_slice(&2000u32.to_le_bytes());
        bytes.extend(std::iter::repeat_n(b'a', 2000));
        bytes.extend(short_unicode("x"));
        bytes.extend_from_slice(b"\x93.");
        let walk = run(&bytes);
        assert_eq!(walk.error, None);
        assert!(!walk.globals[0].resolved);
        assert_eq!(walk.bytes, bytes.len() as u64);
    }

    #[test]
    fn limits_bound_the_stack_and_the_globals() {
        let limits = Limits {
            max_globals: 1,
            max_stack: 4,
            ..Limits::default()
        };
        let deep = walk(&b"NNNNN"[..], Pickles::One, &limits).unwrap();
        assert_eq!(deep.error.unwrap().problem, PickleProblem::TooDeep(4));
        let many = walk(&b"(ca\nb\ncc\nd\nl."[..], Pickles::One, &limits).unwrap();
        assert_eq!(many.globals.len(), 1);
        assert!(many.globals_truncated);
    }

    #[test]
    fn escapes_decode_as_python_does() {
        assert_eq!(escape_decode(br"a\x41\101\n\q"), b"aAA\n\\q");
        assert_eq!(raw_unicode_escape_decode(br"\u00e9\x"), "\u{e9}\\x");
        assert_eq!(raw_unicode_escape_decode(b"\xe9"), "\u{e9}");
    }
}
