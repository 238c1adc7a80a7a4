# Charts of bench/streaming.sh, drawn from the data files of one run:
#   gnuplot -e "dir='RESULTS_DIR'; out='CHARTS_DIR'" bench/streaming_charts.gp
# lat-<scenario>-<server>.dat: "percentile latency_us" (tagstream-bench --hist-out)
# cpu.dat: "scenario" tagstream_us nchan_us   (server CPU per delivered update)
# mem.dat: "streams" tagstream_bytes nchan_bytes (server memory per idle stream)
set terminal svg size 860,480 dynamic font 'DejaVu Sans,12' background rgb 'white'
set grid ytics lc rgb '#dddddd'
set key bottom right box opaque

# 1. Latency by percentile, HDR-style: the x axis stretches the tail.
set output out.'/streaming-latency.svg'
set title 'Publish-to-delivery latency by percentile (lower is better)'
set logscale xy
set xrange [1:100000]
set yrange [0.1:*]
set xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000)
set xlabel 'percentile'
set ylabel 'latency (ms)'
set format y '%g'
x(p) = p < 100 ? 1.0 / (1.0 - p / 100.0) : NaN
plot dir.'/lat-s2m-tagstream.dat' using (x($1)):($2/1000.0) with linespoints pt 7 ps 0.5 lw 2 lc rgb '#1f77b4' title 'fan-out 2,000 streams x 20 Hz: tagstream', \
     dir.'/lat-s2m-nchan.dat'     using (x($1)):($2/1000.0) with linespoints pt 7 ps 0.5 lw 2 lc rgb '#ff7f0e' title 'fan-out 2,000 streams x 20 Hz: nginx+nchan', \
     dir.'/lat-s3-tagstream.dat'  using (x($1)):($2/1000.0) with linespoints pt 5 ps 0.5 lw 2 dt 2 lc rgb '#1f77b4' title 'SCADA mix (100 ms coalescing): tagstream', \
     dir.'/lat-s3-nchan.dat'      using (x($1)):($2/1000.0) with linespoints pt 5 ps 0.5 lw 2 dt 2 lc rgb '#ff7f0e' title 'SCADA mix (multiplexed channels): nginx+nchan'

# 2. Server CPU per delivered update, per scenario.
reset
set terminal svg size 860,480 dynamic font 'DejaVu Sans,12' background rgb 'white'
set output out.'/streaming-cpu.svg'
set title 'Server CPU per delivered tag update (lower is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque nobox
set ylabel 'CPU microseconds per delivered update'
set yrange [0:*]
set xrange [-0.6:2.6]
set xtics nomirror
plot dir.'/cpu.dat' using 2:xtic(1) title 'tagstream' lc rgb '#1f77b4', \
     ''             using 3 title 'nginx+nchan' lc rgb '#ff7f0e', \
     ''             using ($0-1.0/6):2:(sprintf('%.2f', $2)) with labels offset 0,0.7 notitle, \
     ''             using ($0+1.0/6):3:(sprintf('%.2f', $3)) with labels offset 0,0.7 notitle

# 3. Server memory per idle stream.
set output out.'/streaming-memory.svg'
set title 'Server memory per idle stream (PSS growth / streams; lower is better)'
set ylabel 'bytes per stream'
set xrange [-0.6:1.6]
plot dir.'/mem.dat' using 2:xtic(1) title 'tagstream' lc rgb '#1f77b4', \
     ''             using 3 title 'nginx+nchan' lc rgb '#ff7f0e', \
     ''             using ($0-1.0/6):2:(sprintf('%.0f', $2)) with labels offset 0,0.7 notitle, \
     ''             using ($0+1.0/6):3:(sprintf('%.0f', $3)) with labels offset 0,0.7 notitle
