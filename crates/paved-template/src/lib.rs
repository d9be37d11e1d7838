//! What a template version is: its bundle, its input schemas, and sandboxed Jinja rendering.
//!
//! This crate turns the files of one template version plus a context (Proton's namespace:
//! `environment.outputs.X`, `service_instance.inputs.X`, `service.name`, ...) into rendered
//! files. Rendering is pure and deterministic (DESIGN.md invariant 3): the same files and context
//! give byte-identical output, sorted by path. Templates run in a sandbox:
//!
//! - strict undefined: a missing variable is an error with its file and line, never an empty
//!   string;
//! - no loader: `{% include %}` and `{% import %}` reach only the other files passed in, by their
//!   bundle path; there is no function that touches the environment, the file system or the
//!   network;
//! - a fuel budget shared by every file of one render bounds time and memory, a recursion limit
//!   bounds nesting, and size limits bound each file and the whole output;
//! - output paths may be templated, and are checked so that none escapes the output directory.
//!
//! Auto-escaping is off for every file: infrastructure files are YAML, JSON and HCL, and Proton's
//! templates expect raw output. Besides minijinja's built-in filters, AWS Proton's CloudFormation
//! filters and a few of Paved's own are available; see [`filters`].
//!
//! [`bundle`] understands a whole bundle (Paved's layout or AWS Proton's: manifest, input
//! schemas, which files render) and [`schema`] its input schemas. The crate does no IO: the
//! registry (`paved-template-registry`) reads bundles from their sources and stores them.

mod block;
pub mod bundle;
mod check;
mod error;
pub mod filters;
mod jinja2;
mod paths;
mod render;
pub mod schema;
pub mod spec;

pub use check::{CheckProblem, Namespace, ObjectKind, Shape, check_templates};
pub use error::{Location, PathProblem, RenderError};
pub use render::{check_syntax, render_files};

/// How line breaks come out of a render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Newlines {
    /// As Jinja2 renders by default, and so AWS Proton: `\r\n` and `\r` read as `\n`, and a
    /// file's final line break dropped (`keep_trailing_newline=False`). For Proton bundles.
    Jinja2,
    /// As the file is written, final line break included. For Paved's own bundles.
    AsWritten,
}

/// Limits for one render.
///
/// `Limits::default()`: fuel 5_000_000 (minijinja's instruction budget, which bounds time and
/// loops), recursion depth 64, 1 MiB per output file, 8 MiB per render, 512 files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// minijinja's fuel, shared by all files (and templated paths) of one render. Every
    /// instruction costs one, and so does roughly every 64 bytes of data a template creates.
    pub fuel: u64,
    /// minijinja's recursion limit (capped by minijinja at 500). A macro call counts about 5
    /// levels and an include 10, so 64 allows a dozen nested macro calls.
    pub max_recursion: usize,
    /// The largest rendered file, in bytes.
    pub max_file_bytes: usize,
    /// The largest sum of all rendered files, in bytes.
    pub max_total_bytes: usize,
    /// The most files one render takes.
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 5_000_000,
            max_recursion: 64,
            max_file_bytes: 1024 * 1024,
            max_total_bytes: 8 * 1024 * 1024,
            max_files: 512,
        }
    }
}

/// One input file: a path relative to the bundle root and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    /// The path inside the bundle, with `/` separators; it may contain template syntax
    /// (`{{ service.name }}/main.py`). Other files include or import this file by this path.
    pub path: String,
    /// The Jinja source.
    pub text: String,
}

impl TemplateFile {
    /// A file at `path` with `text`.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        TemplateFile {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// The rendered, normalised path: relative, `/`-separated, without `.` or `..` components.
    pub path: String,
    /// The rendered text, or for a file copied as it is that is not UTF-8 text (a `.zip` of a
    /// Terraform folder), its bytes in base64.
    pub contents: String,
    pub encoding: Encoding,
}

impl RenderedFile {
    /// A text file.
    pub fn text(path: impl Into<String>, contents: impl Into<String>) -> RenderedFile {
        RenderedFile {
            path: path.into(),
            contents: contents.into(),
            encoding: Encoding::Text,
        }
    }

    /// A file copied as it is: text when its bytes are UTF-8, base64 otherwise.
    pub fn copied(path: impl Into<String>, bytes: &[u8]) -> RenderedFile {
        use base64::Engine;
        match std::str::from_utf8(bytes) {
            Ok(text) => RenderedFile::text(path, text),
            Err(_) => RenderedFile {
                path: path.into(),
                contents: base64::engine::general_purpose::STANDARD.encode(bytes),
                encoding: Encoding::Base64,
            },
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        use base64::Engine;
        match self.encoding {
            Encoding::Text => self.contents.clone().into_bytes(),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(&self.contents)
                .expect("base64 contents are written by `RenderedFile::copied`"),
        }
    }
}

/// How [`RenderedFile::contents`] holds the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The text itself.
    Text,
    /// The bytes in standard base64 (files that are not UTF-8 text, kept byte for byte).
    Base64,
}
