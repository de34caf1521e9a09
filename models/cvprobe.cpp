#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cvprobe.h"

static void set_err(char* err, int errlen, const char* msg) {
    if (errlen <= 0) return;
    std::snprintf(err, (size_t)errlen, "%s", msg);
}

int witness_cv_probe(const char* path, const int* dims, int ndims,
                     const char** outputs, int noutputs, char* err, int errlen) {
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
        if (net.empty()) {
            set_err(err, errlen, "OpenCV read an empty network");
            return 1;
        }
        std::vector<int> sizes(dims, dims + ndims);
        cv::Mat blob(sizes, CV_32F, cv::Scalar(0));
        net.setInput(blob);
        std::vector<cv::String> names;
        for (int i = 0; i < noutputs; i++) names.push_back(outputs[i]);
        std::vector<cv::Mat> outs;
        net.forward(outs, names);
        if ((int)outs.size() != noutputs) {
            set_err(err, errlen, "OpenCV returned a different number of outputs");
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        set_err(err, errlen, e.what());
    } catch (...) {
        set_err(err, errlen, "unknown C++ exception");
    }
    return 1;
}
