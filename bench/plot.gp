# GB/s against size for pmem_memcpy_persist (aligned): PMDK, ours and the
# machine's NT-store ceiling.  gnuplot -e "datafile='...'; outfile='...'" plot.gp
set terminal pngcairo size 900,560 font ",11"
set output outfile
set title "pmem\\_memcpy\\_persist, aligned, 128 MiB ring in tmpfs (higher is better)"
set xlabel "bytes per operation"
set ylabel "GB/s"
set logscale x 2
set xtics ("8 B" 8, "64 B" 64, "256 B" 256, "1 KiB" 1024, "4 KiB" 4096, \
           "64 KiB" 65536, "2 MiB" 2097152, "64 MiB" 67108864)
set grid
set key top left
set offsets graph 0.02, graph 0.06, graph 0.05, 0
if (exists("subtitle")) set title sprintf("pmem\\_memcpy\\_persist, aligned, 128 MiB ring in tmpfs (higher is better)\n{/*0.8 %s}", subtitle)
set datafile missing "NaN"
plot datafile using 1:4 with linespoints lw 2 dt 2 pt 6 lc rgb "#777777" title "ceiling: NT stores + SFENCE", \
     datafile using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "PMDK libpmem 1.12", \
     datafile using 1:3 with linespoints lw 2 pt 5 lc rgb "#d62728" title "ours"
