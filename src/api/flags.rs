//! Typed flags for [`MapOptions`](super::MapOptions) and the copy methods
//! of [`PmemFile`](super::PmemFile): small sets of named bits, like the
//! `bitflags` crate's, written here to keep the crate free of dependencies.
//! The bit values are PMDK's, so `bits()` is what the C API takes.

use crate::consts::{
    PMEM_FILE_CREATE, PMEM_FILE_EXCL, PMEM_FILE_SPARSE, PMEM_FILE_TMPFILE, PMEM_F_MEM_NODRAIN,
    PMEM_F_MEM_NOFLUSH, PMEM_F_MEM_NONTEMPORAL, PMEM_F_MEM_TEMPORAL, PMEM_F_MEM_WB, PMEM_F_MEM_WC,
};
use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign, Sub};

/// Defines a set-of-flags type: the named constants, set operations and a
/// `Debug` that prints the names (`FileFlags(CREATE | SPARSE)`).
macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($bits:ty) {
            $( $(#[$flag_meta:meta])* const $flag:ident = $value:expr; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name($bits);

        impl $name {
            $( $(#[$flag_meta])* pub const $flag: $name = $name($value); )+

            const NAMED: &'static [(&'static str, $name)] =
                &[$((stringify!($flag), $name::$flag)),+];

            /// The set with no flags.
            pub const fn empty() -> Self {
                $name(0)
            }

            /// The set of every flag.
            pub const fn all() -> Self {
                $name(0 $(| $value)+)
            }

            /// The bits, as the C API takes them.
            pub const fn bits(self) -> $bits {
                self.0
            }

            /// The set with these bits, or `None` if any bit is not a flag.
            pub const fn from_bits(bits: $bits) -> Option<Self> {
                if bits & !Self::all().0 == 0 {
                    Some($name(bits))
                } else {
                    None
                }
            }

            /// Whether every flag of `other` is in `self`.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether no flag is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
        }

        impl BitOr for $name {
            type Output = Self;
            fn bitor(self, other: Self) -> Self {
                $name(self.0 | other.0)
            }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, other: Self) {
                self.0 |= other.0;
            }
        }

        impl BitAnd for $name {
            type Output = Self;
            fn bitand(self, other: Self) -> Self {
                $name(self.0 & other.0)
            }
        }

        /// The flags of `self` that are not in `other`.
        impl Sub for $name {
            type Output = Self;
            fn sub(self, other: Self) -> Self {
                $name(self.0 & !other.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "("))?;
                let mut names = Self::NAMED.iter().filter(|(_, v)| self.contains(*v));
                match names.next() {
                    None => f.write_str("empty")?,
                    Some((first, _)) => {
                        f.write_str(first)?;
                        for (name, _) in names {
                            write!(f, " | {name}")?;
                        }
                    }
                }
                f.write_str(")")
            }
        }
    };
}

flag_set! {
    /// How [`MapOptions::map`](super::MapOptions::map) opens the file: the
    /// `PMEM_FILE_*` flags of `pmem_map_file(3)`.
    ///
    /// ```
    /// use pmem::api::FileFlags;
    ///
    /// let flags = FileFlags::CREATE | FileFlags::SPARSE;
    /// assert!(flags.contains(FileFlags::CREATE));
    /// assert!(!flags.contains(FileFlags::EXCL));
    /// assert_eq!(format!("{flags:?}"), "FileFlags(CREATE | SPARSE)");
    /// assert_eq!(FileFlags::from_bits(flags.bits()), Some(flags));
    /// assert_eq!(FileFlags::from_bits(1 << 30), None);
    /// ```
    pub struct FileFlags(i32) {
        /// Create the file if it is missing, and size it to the length
        /// given to [`MapOptions::len`](super::MapOptions::len).
        const CREATE = PMEM_FILE_CREATE;
        /// With `CREATE`: fail if the file exists.
        const EXCL = PMEM_FILE_EXCL;
        /// With `CREATE`: size the file with ftruncate(2) (holes), not
        /// `posix_fallocate(3)`.
        const SPARSE = PMEM_FILE_SPARSE;
        /// With `CREATE`: the path names a directory, in which an unnamed
        /// temporary file is made (`O_TMPFILE`); it vanishes when unmapped.
        const TMPFILE = PMEM_FILE_TMPFILE;
    }
}

flag_set! {
    /// How [`PmemFile::memcpy`](super::PmemFile::memcpy),
    /// [`memset`](super::PmemFile::memset) and
    /// [`memmove`](super::PmemFile::memmove) store and flush: the
    /// `PMEM_F_MEM_*` flags of `pmem_memmove(3)`.
    ///
    /// ```
    /// use pmem::api::MemFlags;
    ///
    /// let mut flags = MemFlags::NODRAIN;
    /// flags |= MemFlags::NONTEMPORAL;
    /// assert_eq!(flags - MemFlags::NODRAIN, MemFlags::NONTEMPORAL);
    /// assert_eq!(format!("{:?}", MemFlags::empty()), "MemFlags(empty)");
    /// assert!(MemFlags::all().contains(flags));
    /// ```
    pub struct MemFlags(u32) {
        /// Flush but do not drain: call [`PmemFile::drain`](super::PmemFile::drain)
        /// once after a batch.
        const NODRAIN = PMEM_F_MEM_NODRAIN;
        /// Use non-temporal (streaming) stores.
        const NONTEMPORAL = PMEM_F_MEM_NONTEMPORAL;
        /// Use ordinary (temporal) stores.
        const TEMPORAL = PMEM_F_MEM_TEMPORAL;
        /// Write-combining stores (non-temporal on `x86_64`).
        const WC = PMEM_F_MEM_WC;
        /// Write-back stores (temporal on `x86_64`).
        const WB = PMEM_F_MEM_WB;
        /// Neither flush nor drain: the caller makes the range durable later
        /// with [`PmemFile::persist`](super::PmemFile::persist).
        const NOFLUSH = PMEM_F_MEM_NOFLUSH;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_every_named_flag_and_nothing_else() {
        let named = FileFlags::NAMED
            .iter()
            .fold(FileFlags::empty(), |acc, (_, f)| acc | *f);
        assert_eq!(named, FileFlags::all());
        assert_eq!(
            MemFlags::all().bits(),
            crate::consts::PMEM_F_MEM_VALID_FLAGS
        );
        assert_eq!(MemFlags::from_bits(1 << 6), None);
    }

    #[test]
    fn set_operations() {
        let f = FileFlags::CREATE | FileFlags::EXCL;
        assert_eq!(f & FileFlags::EXCL, FileFlags::EXCL);
        assert_eq!(f - FileFlags::EXCL, FileFlags::CREATE);
        assert!(FileFlags::default().is_empty());
        assert!(!f.contains(FileFlags::CREATE | FileFlags::SPARSE));
        assert!(f.contains(FileFlags::empty()));
    }
}
