// The `embcol` command (filled in by the CLI work).
#include <iostream>
int main() { std::cerr << "usage: embcol transform --columns COLUMNS.json --input BATCH.json\n"; return 2; }
