package io.msx.master.cli;

/** How results are printed: aligned tables for people, JSON for scripts. */
public enum OutputFormat {
    table, json
}
