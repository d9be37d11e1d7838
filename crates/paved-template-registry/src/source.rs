//! Reading a bundle's files from a directory, a `.tar.gz` archive or git, with limits.
